using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// Per-coordinate recurrent state of <see cref="CoordinatewiseLstm"/>: for each layer l,
/// hidden <c>H[l]</c> and cell <c>C[l]</c>, each of shape [HiddenSize, N] where N is the number
/// of coordinates being optimized (coordinates along the contiguous axis). Column i belongs to
/// coordinate i only.
/// </summary>
public sealed class LstmOptimizerState : IDisposable
{
    internal LstmOptimizerState(Tensor[] hidden, Tensor[] cell)
    {
        Hidden = hidden;
        Cell = cell;
    }

    /// <summary>Hidden states per layer, each [HiddenSize, N].</summary>
    public IReadOnlyList<Tensor> Hidden { get; }

    /// <summary>Cell states per layer, each [HiddenSize, N].</summary>
    public IReadOnlyList<Tensor> Cell { get; }

    /// <summary>Number of coordinates N.</summary>
    public long Coordinates => Hidden[0].shape[1];

    /// <summary>Zero state for <paramref name="coordinates"/> coordinates.</summary>
    public static LstmOptimizerState Zeros(long coordinates, int layers, int hiddenSize)
    {
        var h = new Tensor[layers];
        var c = new Tensor[layers];
        for (var l = 0; l < layers; l++)
        {
            h[l] = zeros(hiddenSize, coordinates);
            c[l] = zeros(hiddenSize, coordinates);
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
    /// The network's weights in the layout <see cref="Step"/> uses, derived from the parameters inside
    /// the autograd graph. Per layer, gate weights <c>[4H, in + H]</c> = [W_ih, W_hh] and bias
    /// <c>[4H, 1]</c> = b_ih + b_hh, with the candidate block (g, the third in PyTorch's (i, f, g, o)
    /// order) doubled so that one sigmoid serves all four gates (tanh(z) = 2σ(2z) − 1); the head's
    /// weight <c>[1, H]</c> and bias <c>[1, 1]</c> with the output scale applied. Compute this once per
    /// unroll: parameters change only between meta-steps, and reuse saves the concatenations per step,
    /// forwards and backwards. Tensors live in the caller's dispose scope.
    /// </summary>
    public LstmStepWeights StepWeights()
    {
        var hiddenSize = _options.HiddenSize;
        var scale = torch.ones(4 * hiddenSize, 1);
        scale.narrow(0, 2 * hiddenSize, hiddenSize).fill_(2.0);
        var weights = new Tensor[_options.Layers];
        var biases = new Tensor[_options.Layers];
        for (var l = 0; l < _options.Layers; l++)
        {
            var cell = _cells[l];
            weights[l] = torch.cat([cell.weight_ih!, cell.weight_hh!], 1).mul(scale);
            biases[l] = cell.bias_ih!.add(cell.bias_hh!).unsqueeze(1).mul(scale);
        }
        Tensor headWeight = _head.weight!, headBias = _head.bias!.unsqueeze(1);
        if (_options.OutputScale != 1.0)
        {
            (headWeight, headBias) = (headWeight.mul(_options.OutputScale), headBias.mul(_options.OutputScale));
        }
        return new LstmStepWeights(weights, biases, headWeight, headBias);
    }

    /// <summary>
    /// One optimizer step. <paramref name="gradient"/> is [N] (any shape; flattened) and is detached
    /// before use. Returns the update g of shape [N] (θ ← θ + g) and the next state.
    /// </summary>
    public override (Tensor Update, LstmOptimizerState State) forward(Tensor gradient, LstmOptimizerState state) =>
        Step(gradient, state, StepWeights());

    /// <summary>
    /// <see cref="forward"/> with the weights of <see cref="StepWeights"/> computed by the caller (once
    /// per unroll). The LSTMCell equations, c' = f ⊙ c + i ⊙ tanh(g), h' = o ⊙ tanh(c'), computed
    /// hidden-major: activations are <c>[4H, N]</c> = W · [x; h] + b, so every gate is a contiguous
    /// <c>[H, N]</c> block and a bias's gradient is a row sum. One matrix product and one sigmoid per
    /// cell: fewer, larger and contiguous native calls than LSTMCell's two linears and four activations
    /// on strided column blocks, in the forward pass and in the autograd graph alike.
    /// </summary>
    /// <param name="gradient">Gradients, [N] (any shape; flattened; detached before use).</param>
    /// <param name="state">State for the same N coordinates.</param>
    /// <param name="weights">This network's <see cref="StepWeights"/>, current with its parameters.</param>
    public (Tensor Update, LstmOptimizerState State) Step(Tensor gradient, LstmOptimizerState state, LstmStepWeights weights)
    {
        var x = GradientPreprocessor.Apply(gradient, _options.Preprocessing, _options.PreprocessingParameter);
        var h = new Tensor[_options.Layers];
        var c = new Tensor[_options.Layers];
        for (var l = 0; l < _options.Layers; l++)
        {
            var gates = torch.addmm(weights.GateBiases[l], weights.Gates[l], torch.cat([x, state.Hidden[l]], 0), beta: 1, alpha: 1);
            var activated = gates.sigmoid().chunk(4, 0);
            var (input, forget, halfCandidate, output) = (activated[0], activated[1], activated[2], activated[3]);
            // tanh(g) = 2s − 1 with s = σ(2g), so c' = f ⊙ c + 2 i ⊙ s − i.
            c[l] = forget.mul(state.Cell[l]).addcmul(input, halfCandidate, 2).sub(input);
            h[l] = output.mul(c[l].tanh());
            x = h[l];
        }
        var update = torch.addmm(weights.HeadBias, weights.Head, x, beta: 1, alpha: 1).squeeze(0);
        return (update, new LstmOptimizerState(h, c));
    }
}

/// <summary>
/// A <see cref="CoordinatewiseLstm"/>'s weights as <see cref="CoordinatewiseLstm.StepWeights"/> lays them
/// out: per layer gate weights <c>[4H, in + H]</c> and biases <c>[4H, 1]</c>, and the head <c>[1, H]</c>
/// and <c>[1, 1]</c> with the output scale applied.
/// </summary>
public sealed record LstmStepWeights(IReadOnlyList<Tensor> Gates, IReadOnlyList<Tensor> GateBiases, Tensor Head, Tensor HeadBias);
