using System.Globalization;
using Telos.Environments;
using Telos.Learning.Reinforcement.Inspection;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Policies;

/// <summary>
/// DRC(D, N), the Deep Repeated ConvLSTM of Guez et al. 2019 ("An investigation of model-free
/// planning"): the spatial encoder's map x [E, H, W] (E = 2·ConvChannels) feeds every one of D
/// stacked ConvLSTM layers (<see cref="PolicyOptions.DrcLayers"/>), and the stack is ticked N times
/// (<see cref="PolicyOptions.DrcTicks"/>) per environment step. At tick n layer d reads x, the
/// hidden state of the layer below at the same tick — for the bottom layer, the top layer's output of
/// the previous tick (the feedback) — and its own previous hidden state. The heads read a linear layer
/// with ReLU over the flattened top hidden state and, as in the paper, the flattened encoder map (the
/// skip). Pool-and-inject is not implemented.
/// </summary>
/// <remarks>
/// <para>State: every layer's hidden and cell map [C, H, W] (C = <see cref="PolicyOptions.DrcChannels"/>),
/// flattened in layer order into the [B, D·C·H·W] rows of <see cref="RecurrentState"/>, so the
/// trainer's masking (state ← (1 − start)·state), its recomputation through sequences and the
/// agent's per-lane zeroing apply unchanged.</para>
/// <para>Parameters: <c>drc.layer{d}.gates.weight|bias</c> (a 3×3 convolution, padding 1, from
/// E + 2C channels to the 4C gates i, f, g, o in PyTorch's LSTM order; orthogonal, gain 1, zero
/// biases) and <c>drc.output.weight|bias</c> (gain √2).</para>
/// <para>Computation: the convolution is linear in its input channels, so it is the sum of a
/// convolution over x and one over [below, hidden]. x is the same at every tick of a step and known
/// for every step of a sequence, so its share of every layer's gates (with the biases) is one
/// convolution over all T·B maps, and a tick convolves only [below, hidden] (2C channels instead of
/// E + 2C). The gates are reordered i, f, o, g at the start of each unroll, so one sigmoid covers
/// three of them. The same function as the one convolution over [x, below, hidden], to float rounding.</para>
/// <para>Hook points, firing at every tick: <c>drc.layer{d}.cell</c> then <c>drc.layer{d}.hidden</c>,
/// each [C, H, W]; an edit there is what the next tick and the next step see.</para>
/// </remarks>
public sealed class DrcActorCritic : ActorCritic
{
    private readonly DrcStack _drc;
    private readonly string[] _hiddenPoints;
    private readonly string[] _cellPoints;
    private readonly long[] _mapShape; // [D, C, H, W]

    /// <summary>Creates the network from <paramref name="seed"/>.</summary>
    public DrcActorCritic(ObservationShape observation, int actions, PolicyOptions options, ulong seed)
        : this(observation, actions, options, new Generator(seed))
    {
    }

    private DrcActorCritic(ObservationShape observation, int actions, PolicyOptions options, Generator generator)
        : base(nameof(DrcActorCritic), observation, actions, options, options.Features, generator, spatialEncoder: true)
    {
        using (generator)
        {
            _drc = new DrcStack(Encoder.OutputChannels, observation, options, generator);
            register_module("drc", _drc);
        }
        _hiddenPoints = [.. Enumerable.Range(0, options.DrcLayers).Select(HiddenPoint)];
        _cellPoints = [.. Enumerable.Range(0, options.DrcLayers).Select(CellPoint)];
        _mapShape = [options.DrcLayers, options.DrcChannels, observation.Height, observation.Width];
    }

    /// <summary>The hook point of layer <paramref name="layer"/>'s hidden state, <c>drc.layer{d}.hidden</c>.</summary>
    public static string HiddenPoint(int layer) => string.Create(CultureInfo.InvariantCulture, $"drc.layer{layer}.hidden");

    /// <summary>The hook point of layer <paramref name="layer"/>'s cell state, <c>drc.layer{d}.cell</c>.</summary>
    public static string CellPoint(int layer) => string.Create(CultureInfo.InvariantCulture, $"drc.layer{layer}.cell");

    /// <summary>D·C·H·W: every layer's map, flattened.</summary>
    public override int StateSize => (int)(_mapShape[0] * _mapShape[1] * _mapShape[2] * _mapShape[3]);

    protected override IEnumerable<HookPoint> CoreHookPoints()
    {
        long[] map = [_mapShape[1], _mapShape[2], _mapShape[3]];
        for (var d = 0; d < _mapShape[0]; d++)
        {
            yield return new HookPoint(_cellPoints[d], map);
            yield return new HookPoint(_hiddenPoints[d], map);
        }
    }

    protected override (Tensor Output, RecurrentState State) Core(Tensor features, RecurrentState state, Tensor starts)
    {
        var (steps, batch) = (features.shape[0], features.shape[1]);
        var layers = (int)_mapShape[0];
        long[] lanes = [batch, .. _mapShape];
        var hidden = state.Hidden.reshape(lanes).unbind(1);
        var cell = state.Cell.reshape(lanes).unbind(1);
        // x is the same at every tick of a step, and known for every step: its share of every
        // layer's gates (with the biases) is one convolution over all T·B maps, [T, B, D, 4C, H, W].
        var (inputWeight, inputBias, recurrentWeights) = _drc.SplitGates();
        var inputGates = nn.functional.conv2d(features.flatten(0, 1), inputWeight, inputBias, padding: [1, 1])
            .view([steps, batch, layers, 4 * _mapShape[1], _mapShape[2], _mapShape[3]])
            .unbind(0); // one op whose backward stacks the T gradients (indexing [t] would allocate a zero [T, …] gradient per step)
        // 1 − start for every step at once, [T, B, 1, 1, 1].
        var keeps = starts.neg().add(1).view(steps, batch, 1, 1, 1).unbind(0);
        var tops = new Tensor[steps];
        for (var t = 0; t < steps; t++)
        {
            var keep = keeps[t];
            for (var d = 0; d < layers; d++)
            {
                hidden[d] = hidden[d].mul(keep);
                cell[d] = cell[d].mul(keep);
            }
            var stepGates = inputGates[t].unbind(1);
            for (var tick = 0; tick < Options.DrcTicks; tick++)
            {
                for (var d = 0; d < layers; d++)
                {
                    // The bottom layer reads the top layer's output of the previous tick.
                    var below = hidden[d == 0 ? layers - 1 : d - 1];
                    (hidden[d], cell[d]) = ConvLstmCell.Step(stepGates[d], recurrentWeights[d], below, hidden[d], cell[d]);
                    cell[d] = Hook(_cellPoints[d], cell[d]);
                    hidden[d] = Hook(_hiddenPoints[d], hidden[d]);
                }
            }
            tops[t] = hidden[layers - 1];
        }
        var skip = cat([stack(tops).flatten(2), features.flatten(2)], 2);
        var output = _drc.Output(skip);
        return (output, new RecurrentState(stack(hidden, 1).flatten(1), stack(cell, 1).flatten(1)));
    }

    /// <summary>The D ConvLSTM layers and the output layer the heads read (parameters <c>drc.*</c>).</summary>
    private sealed class DrcStack : nn.Module
    {
        private readonly ConvLstmCell[] _layers;
        private readonly Linear _output;
        private readonly int _inputChannels;

        public DrcStack(int inputChannels, ObservationShape observation, PolicyOptions options, Generator generator)
            : base(nameof(DrcStack))
        {
            _inputChannels = inputChannels;
            _layers = new ConvLstmCell[options.DrcLayers];
            for (var d = 0; d < _layers.Length; d++)
            {
                _layers[d] = new ConvLstmCell(inputChannels, options.DrcChannels, generator);
                register_module(string.Create(CultureInfo.InvariantCulture, $"layer{d}"), _layers[d]);
            }
            var plane = (long)observation.Height * observation.Width;
            _output = nn.Linear((options.DrcChannels + inputChannels) * plane, options.Features);
            register_module("output", _output);
            Orthogonal(_output.weight!, _output.bias, Math.Sqrt(2), generator);
        }

        /// <summary>
        /// Every layer's gate convolution split by what it reads, gates reordered i, f, o, g (one
        /// sigmoid then covers i, f and o): the x columns of all D layers stacked into one
        /// [D·4C, E, 3, 3] weight with the biases [D·4C], and per layer the [below, hidden]
        /// columns [4C, 2C, 3, 3]. Views and copies of the parameters, so gradients reach them.
        /// </summary>
        public (Tensor InputWeight, Tensor InputBias, Tensor[] RecurrentWeights) SplitGates()
        {
            var inputWeights = new Tensor[_layers.Length];
            var inputBiases = new Tensor[_layers.Length];
            var recurrentWeights = new Tensor[_layers.Length];
            for (var d = 0; d < _layers.Length; d++)
            {
                var (weight, bias) = _layers[d].Reordered();
                inputWeights[d] = weight.narrow(1, 0, _inputChannels).contiguous();
                inputBiases[d] = bias;
                recurrentWeights[d] = weight.narrow(1, _inputChannels, weight.shape[1] - _inputChannels).contiguous();
            }
            return (cat(inputWeights, 0), cat(inputBiases, 0), recurrentWeights);
        }

        /// <summary>[T, B, (C + E)·H·W] → [T, B, Features], with ReLU.</summary>
        public Tensor Output(Tensor skip) => nn.functional.relu(_output.call(skip));
    }

    /// <summary>
    /// One ConvLSTM layer: the gates are one 3×3 convolution over [x, below, own hidden], stored in
    /// PyTorch's LSTM gate order i, f, g, o (parameters <c>gates.weight|bias</c>).
    /// </summary>
    private sealed class ConvLstmCell : nn.Module
    {
        private readonly Conv2d _gates;
        private readonly Tensor _order; // i, f, g, o → i, f, o, g

        public ConvLstmCell(int inputChannels, int channels, Generator generator)
            : base(nameof(ConvLstmCell))
        {
            _gates = nn.Conv2d(inputChannels + 2 * channels, 4 * channels, 3, padding: 1);
            register_module("gates", _gates);
            Orthogonal(_gates.weight!, _gates.bias, 1.0, generator);
            _order = cat([arange(0, 2 * channels), arange(3 * channels, 4 * channels), arange(2 * channels, 3 * channels)]).DetachFromDisposeScope();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _order.Dispose();
            }
            base.Dispose(disposing);
        }

        /// <summary>The gates' weight [4C, E + 2C, 3, 3] and bias [4C] with the gates reordered i, f, o, g.</summary>
        public (Tensor Weight, Tensor Bias) Reordered() => (_gates.weight!.index_select(0, _order), _gates.bias!.index_select(0, _order));

        /// <summary>
        /// One tick: <paramref name="inputGates"/> [B, 4C, H, W] (x's share of the gates, with the
        /// bias, order i, f, o, g) plus the convolution of [below, hidden] by <paramref name="recurrentWeight"/>
        /// [4C, 2C, 3, 3]; below, hidden and cell [B, C, H, W] → the new hidden and cell.
        /// </summary>
        public static (Tensor Hidden, Tensor Cell) Step(Tensor inputGates, Tensor recurrentWeight, Tensor below, Tensor hidden, Tensor cell)
        {
            var channels = below.shape[1];
            var gates = nn.functional.conv2d(cat([below, hidden], 1), recurrentWeight, padding: [1, 1]).add_(inputGates).split([3 * channels, channels], 1);
            var ifo = gates[0].sigmoid().chunk(3, 1);
            var next = addcmul(ifo[1].mul(cell), ifo[0], gates[1].tanh(), 1);
            return (ifo[2].mul(next.tanh()), next);
        }
    }
}
