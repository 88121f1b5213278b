using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Telos.Learning.Native;

namespace Telos.Cli.Commands;

/// <summary><c>telos version</c> and <c>telos doctor</c>.</summary>
public sealed class SystemCommands : ICommandGroup
{
    public int Order => 0;

    public IEnumerable<Command> Create(CliContext context)
    {
        var version = new Command("version", "Print the Telos version");
        version.SetAction(result =>
        {
            var v = TelosVersion();
            context.WriteLine(CliContext.Json(result) ? JsonSerializer.Serialize(new { version = v }) : "telos " + v);
            return ExitCodes.Success;
        });
        yield return version;

        var doctor = new Command("doctor", "Check this machine: OS, CPU, .NET, and whether TorchSharp/LibTorch loads");
        doctor.SetAction(result => Doctor(context, CliContext.Json(result)));
        yield return doctor;
    }

    private static string TelosVersion() =>
        typeof(SystemCommands).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static int Doctor(CliContext context, bool json)
    {
        var torch = TorchRuntime.Probe();
        var report = new
        {
            telos = TelosVersion(),
            os = RuntimeInformation.OSDescription,
            arch = RuntimeInformation.ProcessArchitecture.ToString(),
            cpu = CpuModel(),
            cores = Environment.ProcessorCount,
            dotnet = RuntimeInformation.FrameworkDescription,
            torch = new
            {
                loaded = torch.Loaded,
                libtorch = torch.LibTorchVersion,
                threads = torch.Threads,
                native_fix = torch.NativeFix,
                system_has_glibcxx_3_4_32 = torch.SystemHasGlibcxx33432,
                error = torch.Error,
            },
        };
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(report));
        }
        else
        {
            var table = new Table().AddColumn("check").AddColumn("value");
            table.AddRow("telos", Markup.Escape(report.telos));
            table.AddRow("OS", Markup.Escape(report.os));
            table.AddRow("CPU", Markup.Escape($"{report.cpu} ({report.arch}, {report.cores} cores)"));
            table.AddRow(".NET", Markup.Escape(report.dotnet));
            table.AddRow("LibTorch", torch.Loaded ? $"[green]loaded[/] {Markup.Escape(torch.LibTorchVersion ?? "")}, {torch.Threads} thread(s)" : $"[red]not loaded[/]: {Markup.Escape(torch.Error ?? "")}");
            table.AddRow("GLIBCXX_3.4.32 fix", Markup.Escape(torch.SystemHasGlibcxx33432 ? $"not needed (system libstdc++ has it; file: {torch.NativeFix})" : $"needed; libLibTorchSharp.so: {torch.NativeFix}"));
            context.Console.Write(table);
        }
        return torch.Loaded ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line is not null)
                {
                    return line[(line.IndexOf(':') + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        return "unknown";
    }
}
