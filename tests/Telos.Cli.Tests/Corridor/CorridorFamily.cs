using Telos.Environments;
using Telos.Imaging;
using Telos.Objectives;

namespace Telos.Cli.Tests.Corridor;

/// <summary>The corridor's one registration: everything the commands need comes from here.</summary>
public sealed class CorridorFamily : EnvironmentFamily<CorridorLevel, CorridorState>
{
    public static CorridorFamily Instance { get; } = new();

    /// <summary>Registers the family once (tests call it before building the CLI).</summary>
    public static void EnsureRegistered() => EnvironmentFamilies.Register(Instance);

    public override string Name => "corridor";

    public override string Summary => "a 1×N corridor: walk right to the exit; a lamp on the way is the proxy";

    public override IReadOnlyList<TaskDistributionInfo> Distributions { get; } =
    [
        new("corridor/short", "corridor", "corridors of length cells, the lamp anywhere but the ends"),
    ];

    public override IReadOnlyList<DistributionParameter> Parameters { get; } =
    [
        new("length", "cells in the corridor", 5, 3, 50),
    ];

    public override FeatureSchema Features => CorridorLevel.FeatureNames;

    public override IReadOnlyList<string> ActionNames { get; } = ["left", "right"];

    public override (float Min, float Max) RewardBounds => (0f, 1f);

    public override IReadOnlyList<ReferenceObjective> References { get; } =
    [
        new("true", "the exit: 1·at_exit", ObjectiveCard.Linear([new("at_exit", 1.0)]), IsTrue: true),
        new("lamp", "the proxy: 1·at_lamp", ObjectiveCard.Linear([new("at_lamp", 1.0)]), IsTrue: false),
    ];

    public override IReadOnlyList<GoalInfo> Goals { get; } =
    [
        new("exit", "ended at the exit"),
        new("lamp", "ended under the lamp"),
    ];

    protected override ITaskDistribution<CorridorLevel> Create(string name, DistributionParameters parameters) =>
        new CorridorDistribution(name, Read(parameters, "length")!.Value);

    protected override int WalkLength(CorridorLevel level) => level.Length;

    protected override bool Reached(CorridorLevel level, in CorridorState final, string goal) =>
        goal == "exit" ? final.Cell == level.Length - 1 : final.Cell == level.Lamp;

    protected override bool ProxyDistinct(CorridorLevel level) => level.Lamp != level.Length - 1;

    protected override IReadOnlyDictionary<string, object> Details(CorridorLevel level) =>
        new Dictionary<string, object> { ["length"] = level.Length, ["lamp"] = level.Lamp };

    protected override string Render(CorridorLevel level, in CorridorState state)
    {
        var cells = new char[level.Length];
        for (var i = 0; i < cells.Length; i++)
        {
            cells[i] = i == state.Cell ? 'A' : i == level.Length - 1 ? 'E' : i == level.Lamp ? 'L' : '.';
        }
        return new string(cells) + "\n";
    }

    protected override string RenderPath(CorridorLevel level, IReadOnlyList<CorridorState> states) =>
        OverlayPath(Render(level, states.Count > 0 ? states[^1] : level.Initial), level.Length, [.. states.Select(s => s.Cell)], _ => false);

    protected override RgbImage Image(CorridorLevel level, in CorridorState state, int cellPixels)
    {
        var image = new RgbImage(level.Length * cellPixels, cellPixels);
        image.Fill(0, 0, image.Width, image.Height, EnvironmentImages.Floor);
        image.Fill(state.Cell * cellPixels, 0, cellPixels, cellPixels, EnvironmentImages.Agent);
        return image;
    }
}
