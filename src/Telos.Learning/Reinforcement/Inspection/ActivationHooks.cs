using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Inspection;

/// <summary>A named place in a policy's forward pass (<see cref="ActorCritic.HookPoints"/>) and the shape of one sample's activation there.</summary>
/// <param name="Name">The point's name, e.g. <c>encoder.conv2</c>, <c>lstm.hidden</c>, <c>drc.layer0.hidden</c>.</param>
/// <param name="Shape">One sample's shape: [C, H, W] for a spatial layer, [F] for a flat one.</param>
public sealed record HookPoint(string Name, IReadOnlyList<long> Shape)
{
    /// <summary>Whether the activation is a map [C, H, W] (channels can be clamped at grid cells).</summary>
    public bool IsSpatial => Shape.Count == 3;

    /// <summary>Elements per sample.</summary>
    public long Size => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// Edits and recordings at a policy's named hook points (procgen-tools' patches, learned-planner's
/// hooks): set it as <see cref="ActorCritic.Hooks"/> and every forward pass — through the trainer, a
/// <see cref="PolicyAgent{TState}"/> or a plain <see cref="ActorCritic.Unroll"/> — passes each hooked
/// activation through it. At a point, in this order: every steering vector is added (scaled), every
/// clamp sets its channel at its grid cell, and the result is recorded (when asked) and flows on.
/// A point of a recurrent core fires once per tick (the LSTM once per step, DRC N times), so edits
/// apply at every tick and the record holds the last firing.
/// </summary>
/// <remarks>Not thread-safe. Owns copies of its steering vectors and its records; dispose it when done.</remarks>
public sealed class ActivationHooks : IDisposable
{
    private readonly Dictionary<string, HookPoint> _known;
    private readonly Dictionary<string, PointEdits> _points = new(StringComparer.Ordinal);

    /// <summary>No edits and no recordings yet, for <paramref name="policy"/>'s hook points.</summary>
    public ActivationHooks(ActorCritic policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
        _known = policy.HookPoints.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    /// <summary>The policy whose hook points these are.</summary>
    public ActorCritic Policy { get; }

    /// <summary>Adds <paramref name="scale"/>·<paramref name="vector"/> to <paramref name="point"/>'s activation at every firing (Turner et al.'s steering; a negative scale subtracts).</summary>
    /// <param name="point">A hook point of the policy.</param>
    /// <param name="vector">One sample's shape (<see cref="HookPoint.Shape"/>), or anything with as many elements; copied.</param>
    /// <param name="scale">The coefficient.</param>
    /// <returns>This, to chain.</returns>
    /// <exception cref="TelosInputException">An unknown point or a vector of the wrong size.</exception>
    public ActivationHooks Steer(string point, Tensor vector, double scale = 1)
    {
        ArgumentNullException.ThrowIfNull(vector);
        var known = Known(point);
        if (vector.numel() != known.Size)
        {
            throw new TelosInputException($"steering vector of {vector.numel()} elements for hook point {point} of shape [{string.Join(", ", known.Shape)}]");
        }
        using var noGrad = no_grad();
        var copy = vector.detach().to_type(ScalarType.Float32).reshape([1, .. known.Shape]).mul(scale).DetachFromDisposeScope();
        Edits(point).Steering.Add(copy);
        return this;
    }

    /// <summary>Sets channel <paramref name="channel"/> of spatial point <paramref name="point"/> at grid cell (<paramref name="row"/>, <paramref name="column"/>) to <paramref name="value"/> at every firing, in every sample (Turner et al. retarget the mouse with one such clamp).</summary>
    /// <returns>This, to chain.</returns>
    /// <exception cref="TelosInputException">An unknown or flat point, or a channel or cell outside its map.</exception>
    public ActivationHooks Clamp(string point, int channel, int row, int column, float value)
    {
        var known = Known(point);
        if (!known.IsSpatial)
        {
            throw new TelosInputException($"hook point {point} is not spatial (shape [{string.Join(", ", known.Shape)}]); clamps need a [C, H, W] map");
        }
        if (channel < 0 || channel >= known.Shape[0] || row < 0 || row >= known.Shape[1] || column < 0 || column >= known.Shape[2])
        {
            throw new TelosInputException($"clamp at channel {channel}, cell ({row}, {column}) is outside hook point {point} of shape [{string.Join(", ", known.Shape)}]");
        }
        Edits(point).Clamps.Add((channel, row, column, value));
        return this;
    }

    /// <summary>Keeps the last firing of <paramref name="point"/> (after edits), for <see cref="Recorded"/>.</summary>
    /// <returns>This, to chain.</returns>
    /// <exception cref="TelosInputException">An unknown point.</exception>
    public ActivationHooks Record(string point)
    {
        Known(point);
        Edits(point).Recording = true;
        return this;
    }

    /// <summary>The points being recorded.</summary>
    public IEnumerable<string> RecordedPoints => _points.Where(p => p.Value.Recording).Select(p => p.Key);

    /// <summary>The last firing of a recorded <paramref name="point"/>, [N, …shape] (N = the samples of that forward pass), or null before it fired. The hooks own it; it is replaced at the next firing.</summary>
    public Tensor? Recorded(string point) => _points.TryGetValue(point, out var edits) ? edits.Last : null;

    /// <summary>Removes every edit and recording.</summary>
    public void Clear()
    {
        foreach (var edits in _points.Values)
        {
            edits.Dispose();
        }
        _points.Clear();
    }

    /// <summary>The activation [N, …shape] after this point's edits (the same tensor when the point has none).</summary>
    internal Tensor Apply(string point, Tensor activation)
    {
        if (!_points.TryGetValue(point, out var edits))
        {
            return activation;
        }
        foreach (var vector in edits.Steering)
        {
            activation = activation.add(vector);
        }
        if (edits.Clamps.Count > 0)
        {
            activation = activation.clone();
            foreach (var (channel, row, column, value) in edits.Clamps)
            {
                activation.select(1, channel).select(1, row).select(1, column).fill_(value);
            }
        }
        if (edits.Recording)
        {
            edits.Last?.Dispose();
            edits.Last = activation.detach().clone().DetachFromDisposeScope();
        }
        return activation;
    }

    public void Dispose() => Clear();

    private HookPoint Known(string point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return _known.TryGetValue(point, out var known)
            ? known
            : throw new TelosInputException($"unknown hook point '{point}'; {Policy.GetName()} has {string.Join(", ", _known.Keys)}");
    }

    private PointEdits Edits(string point)
    {
        if (!_points.TryGetValue(point, out var edits))
        {
            edits = new PointEdits();
            _points[point] = edits;
        }
        return edits;
    }

    private sealed class PointEdits : IDisposable
    {
        public List<Tensor> Steering { get; } = [];

        public List<(int Channel, int Row, int Column, float Value)> Clamps { get; } = [];

        public bool Recording { get; set; }

        public Tensor? Last { get; set; }

        public void Dispose()
        {
            foreach (var vector in Steering)
            {
                vector.Dispose();
            }
            Last?.Dispose();
        }
    }
}
