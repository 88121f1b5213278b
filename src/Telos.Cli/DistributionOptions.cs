using System.CommandLine;
using Telos.Environments;

namespace Telos.Cli;

/// <summary>
/// The distribution-parameter flags of a command, made from the registry: one <c>--NAME</c> per
/// parameter any registered family declares (<c>size</c> → <c>--size</c>, <c>min_corner_distance</c>
/// → <c>--min-corner-distance</c>). Only the flags given reach the family, which refuses the ones its
/// distributions do not take.
/// </summary>
internal sealed class DistributionOptions
{
    private readonly (string Parameter, Option<int?> Option)[] _options;

    public DistributionOptions()
    {
        _options =
        [
            .. EnvironmentFamilies.All
                .SelectMany(f => f.Parameters.Select(p => (Family: f.Name, Parameter: p)))
                .GroupBy(x => x.Parameter.Name, StringComparer.Ordinal)
                .Select(g => (g.Key, new Option<int?>("--" + g.Key.Replace('_', '-'))
                {
                    Description = string.Join("; ", g.Select(x => $"{x.Family}: {x.Parameter.Description}{Default(x.Parameter)}")),
                })),
        ];
    }

    /// <summary>Adds every flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var (_, option) in _options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The parameters given on the command line.</summary>
    public DistributionParameters Read(ParseResult result) =>
        DistributionParameters.Of([.. _options.Select(o => (o.Parameter, result.GetValue(o.Option)))]);

    private static string Default(DistributionParameter parameter) =>
        parameter.Default is { } d ? $" (default {d})" : "";
}
