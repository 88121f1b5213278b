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
        var tops = new Tensor[steps];
        for (var t = 0; t < steps; t++)
        {
            var keep = starts[t].neg().add(1).view(batch, 1, 1, 1);
            for (var d = 0; d < layers; d++)
            {
                hidden[d] = hidden[d].mul(keep);
                cell[d] = cell[d].mul(keep);
            }
            var x = features[t];
            for (var tick = 0; tick < Options.DrcTicks; tick++)
            {
                for (var d = 0; d < layers; d++)
                {
                    // The bottom layer reads the top layer's output of the previous tick.
                    var below = hidden[d == 0 ? layers - 1 : d - 1];
                    (hidden[d], cell[d]) = _drc.Layer(d).Step(x, below, hidden[d], cell[d]);
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

        public DrcStack(int inputChannels, ObservationShape observation, PolicyOptions options, Generator generator)
            : base(nameof(DrcStack))
        {
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

        public ConvLstmCell Layer(int d) => _layers[d];

        /// <summary>[T, B, (C + E)·H·W] → [T, B, Features], with ReLU.</summary>
        public Tensor Output(Tensor skip) => nn.functional.relu(_output.call(skip));
    }

    /// <summary>One ConvLSTM layer: the gates are one 3×3 convolution over [x, below, own hidden].</summary>
    private sealed class ConvLstmCell : nn.Module
    {
        private readonly Conv2d _gates;

        public ConvLstmCell(int inputChannels, int channels, Generator generator)
            : base(nameof(ConvLstmCell))
        {
            _gates = nn.Conv2d(inputChannels + 2 * channels, 4 * channels, 3, padding: 1);
            register_module("gates", _gates);
            Orthogonal(_gates.weight!, _gates.bias, 1.0, generator);
        }

        /// <summary>One tick: x [B, E, H, W], below and hidden and cell [B, C, H, W] → the new hidden and cell.</summary>
        public (Tensor Hidden, Tensor Cell) Step(Tensor x, Tensor below, Tensor hidden, Tensor cell)
        {
            var gates = _gates.call(cat([x, below, hidden], 1)).chunk(4, 1);
            var next = gates[1].sigmoid().mul(cell).add(gates[0].sigmoid().mul(gates[2].tanh()));
            return (gates[3].sigmoid().mul(next.tanh()), next);
        }
    }
}
