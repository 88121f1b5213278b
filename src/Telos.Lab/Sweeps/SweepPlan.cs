using System.Globalization;
using Telos.Lab.Configuration;

namespace Telos.Lab.Sweeps;

/// <summary>One axis of a sweep: a config key and the values it takes.</summary>
/// <param name="Key">The dotted config key (<c>policy</c>, <c>params.size</c>).</param>
/// <param name="Values">Each value as TOML text (<c>"lstm"</c>, <c>5</c>).</param>
public sealed record SweepAxis(string Key, IReadOnlyList<string> Values);

/// <summary>
/// One (configuration, seed) cell of a sweep: a complete run config. A cell is fully described by its
/// <see cref="ResolvedToml"/> (seed included) and writes only into its own directory.
/// </summary>
/// <param name="Index">Position in the sweep: configuration-major, seed-minor. Tables are ordered by it.</param>
/// <param name="Configuration">The configuration's index (mixed radix over the axes, first axis most significant).</param>
/// <param name="Choices">The value taken on each axis, as TOML text, in axis order.</param>
/// <param name="Seed">The cell's root seed.</param>
/// <param name="ResolvedToml">The cell's resolved config, written as its <c>config.toml</c>.</param>
public sealed record SweepCell(int Index, int Configuration, IReadOnlyList<string> Choices, long Seed, string ResolvedToml)
{
    /// <summary>The cell's directory under the sweep's <c>cells/</c>: its index, three digits or more.</summary>
    public string DirectoryName => Index.ToString("D3", CultureInfo.InvariantCulture);
}

/// <summary>
/// A sweep: the base config of an experiment with a <c>[sweep]</c> table of <c>seeds</c> and
/// <c>[sweep.axes]</c> (dotted config key → list of values); the cells are every combination of one value
/// per axis, times every seed.
/// </summary>
/// <param name="Axes">The axes, in config order (none: one configuration, the base).</param>
/// <param name="Seeds">The seeds, in config order.</param>
/// <param name="Cells">Every cell, by <see cref="SweepCell.Index"/>.</param>
public sealed record SweepPlan(IReadOnlyList<SweepAxis> Axes, IReadOnlyList<long> Seeds, IReadOnlyList<SweepCell> Cells)
{
    /// <summary>The config table that declares a sweep.</summary>
    public const string TableName = "sweep";

    /// <summary>Number of configurations (product of the axes' sizes).</summary>
    public int Configurations => Cells.Count / Seeds.Count;

    /// <summary>A configuration's label: <c>policy="cnn", params.size=7</c>, or <c>base</c> for a sweep with no axes.</summary>
    public string ConfigurationLabel(int configuration)
    {
        var cell = Cells[configuration * Seeds.Count];
        return Axes.Count == 0 ? "base" : string.Join(", ", Axes.Select((a, i) => $"{a.Key}={cell.Choices[i]}"));
    }

    /// <summary>A cell's label: its configuration's and its seed.</summary>
    public string CellLabel(SweepCell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        return Axes.Count == 0 ? $"seed={cell.Seed}" : $"{ConfigurationLabel(cell.Configuration)}, seed={cell.Seed}";
    }

    /// <summary>Reads <c>[sweep]</c> of <paramref name="config"/> (recording it in the resolved config).</summary>
    /// <exception cref="TelosInputException">One line naming the file, line and key.</exception>
    /// <returns>The axes, the seeds, and the source line of each axis value (errors about a cell's value name that line).</returns>
    internal static (IReadOnlyList<SweepAxis> Axes, IReadOnlyList<long> Seeds, IReadOnlyList<IReadOnlyList<int>> Lines) ReadTable(ConfigTable config)
    {
        var table = config.Table(TableName);
        var seeds = table.GetIntList("seeds", [], 0, int.MaxValue, minCount: 1, maxCount: 10_000);
        if (seeds.Distinct().Count() != seeds.Count)
        {
            throw table.Error("seeds", "a seed is listed twice");
        }
        var axesTable = table.Table("axes");
        var axes = new List<SweepAxis>();
        var lines = new List<IReadOnlyList<int>>();
        foreach (var key in axesTable.Keys.ToList())
        {
            if (key.Split('.').Any(p => p.Length == 0) || key is "experiment" or "seed" || key.StartsWith(TableName + ".", StringComparison.Ordinal) || key == TableName)
            {
                throw axesTable.Error(key, "an axis names a config key of the experiment (dotted for tables: \"params.size\")");
            }
            var values = axesTable.GetValueTexts(key, minCount: 1, maxCount: 1000);
            axes.Add(new SweepAxis(key, values));
            lines.Add(values.Select((_, i) => axesTable.Item(key, i)!.Line).ToArray());
        }
        return (axes, seeds.Select(s => (long)s).ToArray(), lines);
    }

    /// <summary>
    /// Builds every cell from the sweep's resolved config text: parsed again for each cell, <c>[sweep]</c>
    /// removed, one value per axis set, the seed set, then validated by <paramref name="prepare"/>, which returns the cell's resolved config.
    /// </summary>
    internal static SweepPlan Build(string resolvedSweepToml, string sourceName, IReadOnlyList<SweepAxis> axes, IReadOnlyList<long> seeds, IReadOnlyList<IReadOnlyList<int>> lines, Func<ConfigTable, string> prepare)
    {
        var configurations = axes.Aggregate(1, (n, a) => checked(n * a.Values.Count));
        if ((long)configurations * seeds.Count > 100_000)
        {
            throw new TelosInputException($"{sourceName}: [sweep] has {(long)configurations * seeds.Count} cells; at most 100000");
        }
        var cells = new List<SweepCell>();
        for (var c = 0; c < configurations; c++)
        {
            var choice = new int[axes.Count];
            var rest = c;
            for (var a = axes.Count - 1; a >= 0; a--)
            {
                choice[a] = rest % axes[a].Values.Count;
                rest /= axes[a].Values.Count;
            }
            foreach (var seed in seeds)
            {
                var config = ConfigFile.Parse(resolvedSweepToml, sourceName);
                var axesTable = config.Table(TableName).Table("axes");
                for (var a = 0; a < axes.Count; a++)
                {
                    // The value keeps the line it has in the sweep's source, so that errors point there.
                    config.SetPath(axes[a].Key, ((ConfigScalar)axesTable.Item(axes[a].Key, choice[a])!).At(lines[a][choice[a]]));
                }
                config.Remove(TableName);
                config.Override(Experiments.ExperimentRunner.SeedKey, seed);
                var choices = choice.Select((v, a) => axes[a].Values[v]).ToArray();
                string resolved;
                try
                {
                    resolved = prepare(config);
                }
                catch (TelosInputException e)
                {
                    var label = string.Join(", ", axes.Select((ax, a) => $"{ax.Key}={choices[a]}").Append($"seed={seed}"));
                    throw new TelosInputException($"[sweep] cell ({label}): {e.Message}");
                }
                cells.Add(new SweepCell(cells.Count, c, choices, seed, resolved));
            }
        }
        return new SweepPlan(axes, seeds, cells);
    }
}
