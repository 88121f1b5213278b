using System.Collections.Immutable;
using Telos.Environments;
using Telos.Objectives;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>
/// Input-convex neural network (Amos et al. 2017) over standardized features:
/// z₁ = softplus(W₀x̂ + b₀), zₖ₊₁ = softplus(softplus(Uₖ)zₖ + Wₖx̂ + bₖ), V = softplus(U_L)z_L + w_Lx̂ + b.
/// The hidden-path weights pass through softplus (non-negative) and softplus is convex and
/// non-decreasing, so V is convex in x for any parameters; the standardization x̂ = (x − μ)/σ is
/// affine and keeps convexity.
/// </summary>
public sealed class ConvexObjectiveForm : TrainableObjective
{
    [ComponentName(Name = "inputLayers")]
    private readonly ModuleList<Linear> _inputLayers;
    [ComponentName(Name = "hiddenRaw")]
    private readonly ParameterList _hiddenRaw;
    [ComponentName(Name = "mean")]
    private readonly Tensor _mean;
    [ComponentName(Name = "scale")]
    private readonly Tensor _scale;

    /// <param name="features">Feature names, F.</param>
    /// <param name="hidden">Hidden widths, at least one.</param>
    public ConvexObjectiveForm(ImmutableArray<string> features, ImmutableArray<int> hidden)
        : base("convex", features)
    {
        if (hidden.IsDefaultOrEmpty)
        {
            throw new TelosInputException("convex form needs at least one hidden layer");
        }
        Hidden = hidden;
        var f = features.Length;
        _inputLayers = new ModuleList<Linear>();
        _hiddenRaw = new ParameterList();
        for (var k = 0; k <= hidden.Length; k++)
        {
            var width = k < hidden.Length ? hidden[k] : 1;
            _inputLayers.Add(nn.Linear(f, width, hasBias: true, dtype: ScalarType.Float64));
            if (k > 0)
            {
                // Small negative raw values: softplus(−2) ≈ 0.13 keeps the initial hidden path tame.
                _hiddenRaw.Add(new Parameter(randn(width, hidden[k - 1], dtype: ScalarType.Float64) * 0.1 - 2.0));
            }
        }
        _mean = zeros(f, dtype: ScalarType.Float64);
        _scale = ones(f, dtype: ScalarType.Float64);
        register_buffer("mean", _mean);
        register_buffer("scale", _scale);
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Convex;

    /// <summary>Hidden widths.</summary>
    public ImmutableArray<int> Hidden { get; }

    /// <summary>Sets the input standardization from data rows [N, F] (σ floored at 1e-6).</summary>
    public void Standardize(Tensor x)
    {
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            _mean.copy_(x.mean([0]));
            _scale.copy_(x.std(0).clamp_min(1e-6));
        }
    }

    public override Tensor forward(Tensor x)
    {
        var xs = (x - _mean) / _scale;
        var z = nn.functional.softplus(_inputLayers[0].call(xs));
        for (var k = 1; k < _inputLayers.Count; k++)
        {
            var pre = z.matmul(nn.functional.softplus(_hiddenRaw[k - 1]).t()) + _inputLayers[k].call(xs);
            z = k < _inputLayers.Count - 1 ? nn.functional.softplus(pre) : pre;
        }
        return z.squeeze(-1);
    }

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Convex,
        Features = Features,
        Network = new NetworkSpec("features", Hidden, null),
        Provenance = provenance,
    };
}

/// <summary>
/// A free network (an MLP with ReLU) over the flattened one-hot observation — the opaque baseline — or, with
/// <see cref="ObjectiveInput.Features"/>, over the named features (standardized by the training data's mean and
/// spread, <see cref="Standardize"/>), so that readability and input can be varied apart. With no hidden layer it is
/// linear in its input: over the one-hot observation, one weight per channel and cell (<see cref="ObservationWeights"/>).
/// </summary>
public sealed class NetObjectiveForm : TrainableObjective
{
    [ComponentName(Name = "body")]
    private readonly Sequential _body;
    [ComponentName(Name = "mean")]
    private readonly Tensor? _mean;
    [ComponentName(Name = "scale")]
    private readonly Tensor? _scale;

    /// <param name="features">Feature names: the input columns with <see cref="ObjectiveInput.Features"/>; otherwise used only by penalties added as edits.</param>
    /// <param name="observation">C×H×W of an observation input (ignored for a features input).</param>
    /// <param name="hidden">Hidden widths; none: a linear map of the input.</param>
    /// <param name="input">What the network reads: the one-hot observation (default) or the named features.</param>
    public NetObjectiveForm(ImmutableArray<string> features, ObservationShape observation, ImmutableArray<int> hidden, ObjectiveInput input = ObjectiveInput.Observation)
        : base("net", features)
    {
        Observation = input == ObjectiveInput.Observation ? observation : default;
        Hidden = hidden.IsDefault ? [] : hidden;
        Input = input;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var width = input == ObjectiveInput.Observation ? observation.Size : features.Length;
        for (var k = 0; k < Hidden.Length; k++)
        {
            layers.Add(($"linear{k}", nn.Linear(width, Hidden[k], dtype: ScalarType.Float64)));
            layers.Add(($"relu{k}", nn.ReLU()));
            width = Hidden[k];
        }
        layers.Add(("out", nn.Linear(width, 1, dtype: ScalarType.Float64)));
        _body = nn.Sequential(layers);
        if (input == ObjectiveInput.Features)
        {
            _mean = zeros(features.Length, dtype: ScalarType.Float64);
            _scale = ones(features.Length, dtype: ScalarType.Float64);
            register_buffer("mean", _mean);
            register_buffer("scale", _scale);
        }
        RegisterComponents();
    }

    public override ObjectiveForm Form => ObjectiveForm.Net;

    public override ObjectiveInput Input { get; }

    /// <summary>C×H×W of an observation input; default for a features input.</summary>
    public ObservationShape Observation { get; }

    /// <summary>Hidden widths (empty: linear in the input).</summary>
    public ImmutableArray<int> Hidden { get; }

    public override Tensor forward(Tensor x) => _body.call(Standardized(x)).squeeze(-1);

    /// <summary>
    /// A features input: sets the standardization x̂ = (x − μ)/σ from data rows [N, F]; a feature constant on the data
    /// (σ &lt; 10⁻⁶) keeps σ = 1, so off-distribution values of it stay in its own units rather than blowing up. An
    /// observation input (one-hot) is not standardized: does nothing.
    /// </summary>
    public void Standardize(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_mean is null || _scale is null)
        {
            return;
        }
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            var sd = x.std(0);
            _mean.copy_(x.mean([0]));
            _scale.copy_(where(sd < 1e-6, ones_like(sd), sd));
        }
    }

    /// <summary>
    /// The weights of a network without hidden layers over the one-hot observation, as maps: [channel][row from the top, column]
    /// (V = bias + Σ over channels and cells of weight × observation), and the bias.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network has hidden layers or reads features.</exception>
    public (double[][,] Channels, double Bias) ObservationWeights()
    {
        if (Hidden.Length > 0 || Input != ObjectiveInput.Observation)
        {
            throw new InvalidOperationException("only a network without hidden layers over the observation has one weight per channel and cell");
        }
        using var scope = NewDisposeScope();
        var output = (Linear)_body.children().Last();
        var weights = ToArray(output.weight!);
        var bias = ToArray(output.bias!)[0];
        var (c, h, w) = (Observation.Channels, Observation.Height, Observation.Width);
        var channels = new double[c][,];
        for (var k = 0; k < c; k++)
        {
            channels[k] = new double[h, w];
            for (var row = 0; row < h; row++)
            {
                for (var col = 0; col < w; col++)
                {
                    channels[k][row, col] = weights[(k * h + row) * w + col];
                }
            }
        }
        return (channels, bias);
    }

    private Tensor Standardized(Tensor x) => _mean is null || _scale is null ? x : (x - _mean) / _scale;

    /// <summary>
    /// The activation after each hidden layer's ReLU for inputs <paramref name="x"/> [B, D] (D = C·H·W, or F for a features input):
    /// <c>hidden0</c>, <c>hidden1</c>, … each [B, width], in the caller's dispose scope (none when the
    /// network has no hidden layer). The network's only intermediate values, for probes.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Activation)> HiddenActivations(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var result = new List<(string, Tensor)>();
        x = Standardized(x);
        foreach (var layer in _body.children().Cast<nn.Module<Tensor, Tensor>>())
        {
            x = layer.call(x);
            if (layer is ReLU)
            {
                result.Add(($"hidden{result.Count}", x));
            }
        }
        return result;
    }

    public override ObjectiveCard ToCard(Provenance provenance) => new()
    {
        Form = ObjectiveForm.Net,
        Features = Features,
        Network = Input == ObjectiveInput.Observation ? new NetworkSpec("observation", Hidden, Observation) : new NetworkSpec("features", Hidden, null),
        Provenance = provenance,
    };
}
