using Telos.Lab.Tests.NativeBoundary;

namespace Telos.Lab.Tests;

/// <summary>
/// The test assembly's entry point. The test host loads this assembly as a library and never calls it;
/// <see cref="NativeBoundaryTests"/> starts it as a separate process (<c>dotnet Telos.Lab.Tests.dll probe ...</c>)
/// to look at a process in which no test has loaded LibTorch yet.
/// </summary>
internal static class Program
{
    public static int Main(string[] args) =>
        args is [NativeBoundaryProbe.Command, var root] ? NativeBoundaryProbe.Run(root, Console.Out) : 64;
}
