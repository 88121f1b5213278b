using Telos.Environments;

namespace Telos.Cli.Tests.Corridor;

/// <summary>A state of <see cref="CorridorLevel"/>: the cell (0 = the left end) and the steps taken.</summary>
public readonly record struct CorridorState(int Cell, int Steps);

/// <summary>
/// A toy family for the registry tests: a 1×N corridor, the agent starts at the left end, the
/// exit is at the right end (the true goal, +1, terminal); a lamp somewhere along it is the proxy.
/// Actions: 0 left, 1 right.
/// </summary>
public sealed class CorridorLevel : IEnumerableEnvironment<CorridorState>
{
    public static readonly FeatureSchema FeatureNames = new(["x", "at_exit", "at_lamp"]);

    public CorridorLevel(int length, int lamp, string provenance)
    {
        Length = length;
        Lamp = lamp;
        Provenance = provenance;
    }

    public int Length { get; }

    public int Lamp { get; }

    public string? Provenance { get; }

    public string Name => "corridor";

    public int ActionCount => 2;

    public CorridorState Initial => new(0, 0);

    public int StepLimit => 4 * Length;

    public FeatureSchema Features => FeatureNames;

    public ObservationShape ObservationShape => new(1, 1, Length);

    public int StateCount => Length;

    public StepResult<CorridorState> Step(in CorridorState state, int action)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)action, 1u, nameof(action));
        var cell = Math.Clamp(state.Cell + (action == 1 ? 1 : -1), 0, Length - 1);
        var next = new CorridorState(cell, state.Steps + 1);
        var exit = cell == Length - 1;
        return new StepResult<CorridorState>(next, exit ? 1f : 0f, exit, !exit && next.Steps >= StepLimit);
    }

    public void LegalActions(in CorridorState state, Span<bool> legal) => legal.Fill(true);

    public void WriteFeatures(in CorridorState state, Span<double> features)
    {
        features[0] = state.Cell;
        features[1] = state.Cell == Length - 1 ? 1 : 0;
        features[2] = state.Cell == Lamp ? 1 : 0;
    }

    public void WriteObservation(in CorridorState state, Span<float> observation)
    {
        observation.Clear();
        observation[state.Cell] = 1;
    }

    public int IndexOf(in CorridorState state) => state.Cell;

    public CorridorState StateAt(int index) => new(index, 0);
}

/// <summary>Corridors of one length whose lamp moves with the seed: cell 1 + seed mod (length − 2).</summary>
public sealed class CorridorDistribution(string name, int length) : ITaskDistribution<CorridorLevel>
{
    public string Name => name;

    public CorridorLevel Level(long seed)
    {
        if (seed < 0)
        {
            throw new TelosInputException($"seed {seed} is negative");
        }
        return new CorridorLevel(length, 1 + (int)(seed % (length - 2)), $"{name} length={length} seed={seed}");
    }
}
