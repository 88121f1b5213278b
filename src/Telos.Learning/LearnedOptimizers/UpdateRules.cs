using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// An optimizer as a functional update rule on a parameter tensor: given ∇f(θ_t) it returns the step
/// g_t with θ_{t+1} = θ_t + g_t. State (momenta, LSTM state) lives inside the rule and has the
/// gradient's shape; <see cref="Reset"/> clears it for a new problem. Rules never build autograd graphs.
/// </summary>
public interface IUpdateRule : IDisposable
{
    /// <summary>Short name with hyperparameters, e.g. "adam(lr=0.1)".</summary>
    string Name { get; }

    /// <summary>Forgets all state (call before a new problem).</summary>
    void Reset();

    /// <summary>The step g_t for gradient <paramref name="gradient"/> (any shape; same shape out).</summary>
    Tensor Step(Tensor gradient);
}

/// <summary>The hand-designed baselines of the paper (SGD, NAG, RMSprop, ADAM).</summary>
public enum BaselineKind
{
    /// <summary>Plain gradient descent: g = −lr ∇.</summary>
    Sgd,

    /// <summary>Nesterov momentum (PyTorch form, momentum 0.9): v ← μv + ∇; g = −lr(∇ + μv).</summary>
    Nag,

    /// <summary>RMSprop (PyTorch defaults α = 0.99, ε = 1e-8).</summary>
    RmsProp,

    /// <summary>Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias-corrected).</summary>
    Adam,
}

/// <summary>A hand-designed optimizer with a fixed learning rate, as a functional <see cref="IUpdateRule"/>.</summary>
public sealed class BaselineRule : IUpdateRule
{
    /// <summary>NAG's momentum μ.</summary>
    public const double Momentum = 0.9;

    /// <summary>RMSprop's squared-gradient decay α.</summary>
    public const double RmsDecay = 0.99;

    /// <summary>Adam's β₁.</summary>
    public const double Beta1 = 0.9;

    /// <summary>Adam's β₂.</summary>
    public const double Beta2 = 0.999;

    /// <summary>ε in the RMSprop and Adam denominators.</summary>
    public const double Epsilon = 1e-8;

    private Tensor? _first;
    private Tensor? _second;
    private int _t;

    public BaselineRule(BaselineKind kind, double learningRate)
    {
        if (!(learningRate > 0) || !double.IsFinite(learningRate))
        {
            throw new TelosInputException($"learning rate must be a positive number, got {learningRate}");
        }
        Kind = kind;
        LearningRate = learningRate;
    }

    /// <summary>Which optimizer.</summary>
    public BaselineKind Kind { get; }

    /// <summary>Learning rate.</summary>
    public double LearningRate { get; }

    public string Name => $"{Kind.ToString().ToLowerInvariant()}(lr={LearningRate:G4})";

    public void Reset()
    {
        _first?.Dispose();
        _second?.Dispose();
        _first = null;
        _second = null;
        _t = 0;
    }

    public Tensor Step(Tensor gradient)
    {
        using var noGrad = torch.no_grad();
        var g = gradient.detach();
        _t++;
        switch (Kind)
        {
            case BaselineKind.Sgd:
                return g.mul(-LearningRate);
            case BaselineKind.Nag:
            {
                var v = State(ref _first, g);
                v.mul_(Momentum).add_(g);
                return g.add(v, Momentum).mul_(-LearningRate);
            }
            case BaselineKind.RmsProp:
            {
                var s = State(ref _second, g);
                s.mul_(RmsDecay).addcmul_(g, g, 1 - RmsDecay);
                return g.div(s.sqrt().add_(Epsilon)).mul_(-LearningRate);
            }
            case BaselineKind.Adam:
            {
                var m = State(ref _first, g);
                var s = State(ref _second, g);
                m.mul_(Beta1).add_(g, 1 - Beta1);
                s.mul_(Beta2).addcmul_(g, g, 1 - Beta2);
                var correction1 = 1 - Math.Pow(Beta1, _t);
                var correction2 = 1 - Math.Pow(Beta2, _t);
                var denominator = s.div(correction2).sqrt_().add_(Epsilon);
                return m.div(denominator).mul_(-LearningRate / correction1);
            }
            default:
                throw new InvalidOperationException($"unknown baseline {Kind}");
        }
    }

    public void Dispose() => Reset();

    private static Tensor State(ref Tensor? slot, Tensor like)
    {
        if (slot is null || !slot.shape.SequenceEqual(like.shape))
        {
            slot?.Dispose();
            slot = zeros_like(like).DetachFromDisposeScope();
        }
        return slot;
    }
}

/// <summary>
/// A trained <see cref="CoordinatewiseLstm"/> used as an ordinary update rule (no graph): one LSTM
/// state row per coordinate of the gradient, created on the first step. Coordinates are processed in
/// chunks of at most <see cref="ChunkSize"/> rows, because the LSTM's per-coordinate cost grows ~2–3×
/// once its [N, 4H] gate tensors no longer fit in cache (measured: 5 µs/coordinate at N = 16k,
/// 12 µs at N = 636k); rows never interact, so chunking does not change the math.
/// </summary>
public sealed class LstmRule : IUpdateRule
{
    /// <summary>Default coordinates per LSTM call.</summary>
    public const int DefaultChunkSize = 1 << 14;

    private readonly CoordinatewiseLstm _network;
    private readonly List<LstmOptimizerState> _states = [];
    private long _coordinates = -1;

    /// <param name="network">The optimizer network (not owned).</param>
    /// <param name="name">Name in results.</param>
    /// <param name="chunkSize">Coordinates per LSTM call (≥ 1).</param>
    public LstmRule(CoordinatewiseLstm network, string name = "lstm", int chunkSize = DefaultChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        _network = network;
        Name = name;
        ChunkSize = chunkSize;
    }

    public string Name { get; }

    /// <summary>Coordinates per LSTM call.</summary>
    public int ChunkSize { get; }

    public void Reset()
    {
        foreach (var state in _states)
        {
            state.Dispose();
        }
        _states.Clear();
        _coordinates = -1;
    }

    public Tensor Step(Tensor gradient)
    {
        using var noGrad = torch.no_grad();
        var flat = gradient.detach().reshape(-1);
        var n = flat.shape[0];
        if (_coordinates != n)
        {
            Reset();
            for (long start = 0; start < n; start += ChunkSize)
            {
                _states.Add(Owned(_network.InitialState(Math.Min(ChunkSize, n - start))));
            }
            _coordinates = n;
        }
        var updates = new Tensor[_states.Count];
        using (var scope = NewDisposeScope())
        {
            var weights = _network.StepWeights();
            for (var c = 0; c < _states.Count; c++)
            {
                var (update, next) = _network.Step(flat.narrow(0, (long)c * ChunkSize, _states[c].Coordinates), _states[c], weights);
                updates[c] = update.MoveToOuterDisposeScope();
                Owned(next);
                _states[c].Dispose();
                _states[c] = next;
            }
        }
        var all = updates.Length == 1 ? updates[0] : torch.cat(updates, 0);
        return all.view(gradient.shape);
    }

    public void Dispose() => Reset();

    // The state outlives whatever dispose scope the caller is in; this rule disposes it.
    private static LstmOptimizerState Owned(LstmOptimizerState state)
    {
        foreach (var t in state.Hidden.Concat(state.Cell))
        {
            t.DetachFromDisposeScope();
        }
        return state;
    }
}
