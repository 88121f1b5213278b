using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Per-coordinate recurrent state of <see cref="CoordinatewiseLstm"/>: for each layer l,
/// hidden <c>H[l]</c> and cell <c>C[l]</c>, each of shape [N, HiddenSize] where N is the number
/// of coordinates being optimized. Row i belongs to coordinate i only.
/// </summary>
public sealed class LstmOptimizerState : IDisposable
{
    internal LstmOptimizerState(Tensor[] hidden, Tensor[] cell)
    {
        Hidden = hidden;
        Cell = cell;
    }

    /// <summary>Hidden states per layer, each [N, HiddenSize].</summary>
    public IReadOnlyList<Tensor> Hidden { get; }

    /// <summary>Cell states per layer, each [N, HiddenSize].</summary>
    public IReadOnlyList<Tensor> Cell { get; }

    /// <summary>Number of coordinates N.</summary>
    public long Coordinates => Hidden[0].shape[0];

    /// <summary>Zero state for <paramref name="coordinates"/> coordinates.</summary>
    public static LstmOptimizerState Zeros(long coordinates, int layers, int hiddenSize)
    {
        var h = new Tensor[layers];
        var c = new Tensor[layers];
        for (var l = 0; l < layers; l++)
        {
            h[l] = zeros(coordinates, hiddenSize);
            c[l] = zeros(coordinates, hiddenSize);
        }
        return new LstmOptimizerState(h, c);
    }

    /// <summary>A copy cut from the graph (truncated BPTT), moved to the caller's outer dispose scope.</summary>
    public LstmOptimizerState DetachToOuterScope()
    {
        var h = Hidden.Select(t => t.detach().MoveToOuterDisposeScope()).ToArray();
        var c = Cell.Select(t => t.detach().MoveToOuterDisposeScope()).ToArray();
        return new LstmOptimizerState(h, c);
    }

    /// <summary>Moves these tensors to the caller's outer dispose scope.</summary>
    public LstmOptimizerState MoveToOuterDisposeScope()
    {
        foreach (var t in Hidden.Concat(Cell))
        {
            t.MoveToOuterDisposeScope();
        }
        return this;
    }

    public void Dispose()
    {
        foreach (var t in Hidden.Concat(Cell))
        {
            t.Dispose();
        }
    }
}

/// <summary>
/// The coordinatewise LSTM optimizer m of Andrychowicz et al. (2016): a stack of LSTM cells whose
/// weights are shared by all coordinates (each coordinate is one row of the batch), followed by a
/// linear head giving one update per coordinate, scaled by <see cref="LstmOptimizerOptions.OutputScale"/>.
/// Because the weights are shared and rows never mix, permuting coordinates permutes the updates.
/// </summary>
public sealed class CoordinatewiseLstm : nn.Module<Tensor, LstmOptimizerState, (Tensor Update, LstmOptimizerState State)>
{
    private readonly ModuleList<LSTMCell> _cells;
    private readonly Linear _head;
    private readonly LstmOptimizerOptions _options;

    /// <summary>
    /// Creates the network with every weight and bias drawn U(−1/√H, 1/√H) (PyTorch's LSTMCell and
    /// Linear defaults, H = HiddenSize) from a generator seeded with <paramref name="seed"/>, in the same
    /// order and from the same stream as LibTorch's own initialization after <c>manual_seed(seed)</c>.
    /// </summary>
    public CoordinatewiseLstm(LstmOptimizerOptions options, long seed)
        : base(nameof(CoordinatewiseLstm))
    {
        options.Validate();
        _options = options;
        var cells = new LSTMCell[options.Layers];
        var inputSize = GradientPreprocessor.InputSize(options.Preprocessing);
        for (var l = 0; l < options.Layers; l++)
        {
            cells[l] = nn.LSTMCell(l == 0 ? inputSize : options.HiddenSize, options.HiddenSize);
        }
        _cells = nn.ModuleList(cells);
        _head = nn.Linear(options.HiddenSize, 1);
        RegisterComponents();
        var bound = 1.0 / Math.Sqrt(options.HiddenSize);
        using var generator = new Generator((ulong)seed);
        using var noGrad = torch.no_grad();
        foreach (var p in parameters())
        {
            p.uniform_(-bound, bound, generator);
        }
    }

    /// <summary>The architecture.</summary>
    public LstmOptimizerOptions Options => _options;

    /// <summary>Copies every weight from <paramref name="source"/> (same architecture).</summary>
    public void CopyWeightsFrom(CoordinatewiseLstm source)
    {
        using var noGrad = torch.no_grad();
        var from = source.parameters().ToArray();
        var to = parameters().ToArray();
        if (from.Length != to.Length)
        {
            throw new ArgumentException("the two optimizers differ in architecture", nameof(source));
        }
        for (var i = 0; i < to.Length; i++)
        {
            to[i].copy_(from[i]);
        }
    }

    /// <summary>Zero state for <paramref name="coordinates"/> coordinates.</summary>
    public LstmOptimizerState InitialState(long coordinates) => LstmOptimizerState.Zeros(coordinates, _options.Layers, _options.HiddenSize);

    /// <summary>
    /// One optimizer step. <paramref name="gradient"/> is [N] (any shape; flattened) and is detached
    /// before use. Returns the update g of shape [N] (θ ← θ + g) and the next state.
    /// </summary>
    public override (Tensor Update, LstmOptimizerState State) forward(Tensor gradient, LstmOptimizerState state)
    {
        var x = GradientPreprocessor.Apply(gradient, _options.Preprocessing, _options.PreprocessingParameter);
        var h = new Tensor[_options.Layers];
        var c = new Tensor[_options.Layers];
        for (var l = 0; l < _options.Layers; l++)
        {
            (h[l], c[l]) = _cells[l].call(x, (state.Hidden[l], state.Cell[l]));
            x = h[l];
        }
        var update = _head.call(x).squeeze(1).mul(_options.OutputScale);
        return (update, new LstmOptimizerState(h, c));
    }
}
