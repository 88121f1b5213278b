using Telos.Environments;
using Telos.Learning.Reinforcement.Inspection;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Policies;

/// <summary>The policy architectures PPO trains.</summary>
public enum PolicyKind
{
    /// <summary>CNN encoder + LSTM core (<see cref="LstmActorCritic"/>).</summary>
    Lstm,

    /// <summary>Feed-forward CNN: the non-recurrent control (<see cref="CnnActorCritic"/>).</summary>
    Cnn,

    /// <summary>CNN encoder + DRC(D, N): D stacked ConvLSTMs ticked N times per step (<see cref="DrcActorCritic"/>).</summary>
    Drc,
}

/// <summary>Sizes of a policy network.</summary>
/// <param name="Kind">The architecture.</param>
/// <param name="ConvChannels">Channels of the encoder's two 3×3 convolutions (padding 1, so the grid keeps its size).</param>
/// <param name="Features">Width of the encoder's output (a linear layer over the flattened convolutions); for DRC, whose encoder stays spatial, of the layer the heads read.</param>
/// <param name="LstmSize">Hidden size of the LSTM core (LSTM only).</param>
/// <param name="DrcLayers">DRC's D: stacked ConvLSTM layers (DRC only; Guez et al. use 3).</param>
/// <param name="DrcTicks">DRC's N: ticks of the whole stack per environment step (DRC only; Guez et al. use 3).</param>
/// <param name="DrcChannels">Hidden and cell channels of every ConvLSTM layer (DRC only; Guez et al. use 32).</param>
public sealed record PolicyOptions(PolicyKind Kind = PolicyKind.Lstm, int ConvChannels = 16, int Features = 128, int LstmSize = 128,
    int DrcLayers = 3, int DrcTicks = 3, int DrcChannels = 32)
{
    /// <summary>Throws when a size is not positive.</summary>
    /// <exception cref="TelosInputException">A size below 1.</exception>
    public void Validate()
    {
        if (ConvChannels < 1 || Features < 1 || LstmSize < 1)
        {
            throw new TelosInputException($"policy sizes must be ≥ 1 (conv_channels {ConvChannels}, features {Features}, lstm_size {LstmSize})");
        }
        if (DrcLayers < 1 || DrcTicks < 1 || DrcChannels < 1)
        {
            throw new TelosInputException($"DRC sizes must be ≥ 1 (drc_layers {DrcLayers}, drc_ticks {DrcTicks}, drc_channels {DrcChannels})");
        }
    }
}

/// <summary>
/// A recurrent core's state for B sequences: hidden and cell, each [B, S] (S = 0 for a
/// feed-forward policy, whose state is empty). Row b belongs to sequence b only.
/// </summary>
public readonly record struct RecurrentState(Tensor Hidden, Tensor Cell)
{
    /// <summary>Rows <paramref name="index"/> (a [k] int64 tensor) of both tensors.</summary>
    public RecurrentState Select(Tensor index) => new(Hidden.index_select(0, index), Cell.index_select(0, index));

    /// <summary>A copy outside the autograd graph and outside every dispose scope (its owner disposes it).</summary>
    public RecurrentState Keep() => new(Hidden.detach().clone().DetachFromDisposeScope(), Cell.detach().clone().DetachFromDisposeScope());

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        Hidden.Dispose();
        Cell.Dispose();
    }
}

/// <summary>What a policy computes for a [T, B] block of observations.</summary>
/// <param name="Logits">Action logits, [T, B, A].</param>
/// <param name="Values">State values, [T, B].</param>
/// <param name="State">The core's state after the last step, [B, S].</param>
public readonly record struct PolicyOutput(Tensor Logits, Tensor Values, RecurrentState State);

/// <summary>
/// An actor-critic over one-hot grid observations [C, H, W]: a <see cref="GridEncoder"/>, a core
/// (recurrent or not) that subclasses supply, and linear policy and value heads on the core's
/// output. Every policy PPO trains and every <see cref="PolicyAgent{TState}"/> runs has this one
/// interface, so the trainer and the agent never ask which kind it is.
/// Initialization follows "The 37 Implementation Details of PPO": orthogonal weights with gain √2
/// on hidden layers, 0.01 on the policy head, 1 on the value head, zero biases; drawn, in the
/// order encoder, heads, core, from a generator seeded with the constructor's seed.
/// <para><b>Hook points.</b> Every policy names the places in its forward pass where activations can
/// be read and edited (<see cref="HookPoints"/>: <c>encoder.conv1</c>, <c>encoder.conv2</c>, then
/// the core's); with <see cref="Hooks"/> null (the default) a hook point costs one null check.</para>
/// </summary>
public abstract class ActorCritic : nn.Module
{
    private readonly GridEncoder _encoder;
    private readonly Linear _actor;
    private readonly Linear _critic;
    private ActivationHooks? _hooks;

    /// <summary>Creates the encoder and the heads; the subclass then creates its core from <paramref name="generator"/>.</summary>
    /// <param name="name">The module's name.</param>
    /// <param name="observation">The observation shape.</param>
    /// <param name="actions">A.</param>
    /// <param name="options">Sizes.</param>
    /// <param name="coreWidth">Width of the core's output, which the heads read.</param>
    /// <param name="generator">The seeded initialization stream.</param>
    /// <param name="spatialEncoder">The encoder ends at its second convolution, [N, 2·ConvChannels, H, W] (no linear layer), for a core that keeps the grid.</param>
    protected ActorCritic(string name, ObservationShape observation, int actions, PolicyOptions options, int coreWidth, Generator generator, bool spatialEncoder = false)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (observation.Size < 1 || actions < 1)
        {
            throw new ArgumentException($"observation {observation} and actions {actions} must be non-empty");
        }
        Observation = observation;
        Actions = actions;
        Options = options;
        _encoder = new GridEncoder(observation, options, generator, spatialEncoder);
        _actor = nn.Linear(coreWidth, actions);
        _critic = nn.Linear(coreWidth, 1);
        register_module("encoder", _encoder);
        register_module("actor", _actor);
        register_module("critic", _critic);
        Orthogonal(_actor.weight!, _actor.bias, 0.01, generator);
        Orthogonal(_critic.weight!, _critic.bias, 1.0, generator);
    }

    /// <summary>The observation shape the policy takes.</summary>
    public ObservationShape Observation { get; }

    /// <summary>Number of actions, A.</summary>
    public int Actions { get; }

    /// <summary>The sizes it was built with.</summary>
    public PolicyOptions Options { get; }

    /// <summary>A new <paramref name="options"/>.Kind policy for <paramref name="observation"/> and <paramref name="actions"/>, weights from <paramref name="seed"/>.</summary>
    /// <exception cref="TelosInputException">Bad options.</exception>
    public static ActorCritic Create(ObservationShape observation, int actions, PolicyOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Kind switch
        {
            PolicyKind.Lstm => new LstmActorCritic(observation, actions, options, seed),
            PolicyKind.Cnn => new CnnActorCritic(observation, actions, options, seed),
            PolicyKind.Drc => new DrcActorCritic(observation, actions, options, seed),
            _ => throw new TelosInputException($"unknown policy kind {options.Kind}"),
        };
    }

    /// <summary>
    /// An independent policy of the same kind and sizes with a copy of every parameter: training or
    /// editing the copy leaves this one as it was (hooks are not copied).
    /// </summary>
    public ActorCritic Copy()
    {
        var copy = Create(Observation, Actions, Options, seed: 0);
        var source = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in copy.named_parameters())
        {
            parameter.copy_(source[name]);
        }
        return copy;
    }

    /// <summary>
    /// How an LSTM core runs through a sequence (default <see cref="LstmKernel.LibTorch"/>); cores
    /// without an LSTM (CNN, DRC) ignore it. Not part of the architecture: a checkpoint loads and runs
    /// under either kernel. With <see cref="Hooks"/> set, an LSTM core runs LibTorch's kernel, whose
    /// ticks the hooks can read and edit.
    /// </summary>
    public LstmKernel LstmKernel { get; set; }

    /// <summary>
    /// How the encoder runs (default <see cref="EncoderKernel.LibTorch"/>). Not part of the
    /// architecture: a checkpoint loads and runs under either kernel. With <see cref="Hooks"/> set, or
    /// observations that require grad, the encoder runs LibTorch's kernel, whose layers the hooks can
    /// read and edit.
    /// </summary>
    public EncoderKernel EncoderKernel
    {
        get => _encoder.Kernel;
        set => _encoder.Kernel = value;
    }

    /// <summary>Width S of the recurrent state (0: feed-forward).</summary>
    public abstract int StateSize { get; }

    /// <summary>The encoder.</summary>
    protected GridEncoder Encoder => _encoder;

    /// <summary>The named places whose activations <see cref="Hooks"/> can read and edit, in forward order.</summary>
    public IReadOnlyList<HookPoint> HookPoints => field ??= [.. _encoder.HookPoints, .. CoreHookPoints()];

    /// <summary>
    /// Edits and recordings applied at the hook points on every forward pass (training too, if left
    /// set), or null: none, at the cost of one null check per point.
    /// </summary>
    /// <exception cref="ArgumentException">Hooks made for another policy.</exception>
    public ActivationHooks? Hooks
    {
        get => _hooks;
        set
        {
            if (value is not null && !ReferenceEquals(value.Policy, this))
            {
                throw new ArgumentException("these hooks were made for another policy", nameof(value));
            }
            _hooks = value;
        }
    }

    /// <summary>The core's hook points, after the encoder's.</summary>
    protected abstract IEnumerable<HookPoint> CoreHookPoints();

    /// <summary>Passes <paramref name="activation"/> ([N, …shape]) through hook point <paramref name="point"/>: unchanged when no hooks are set.</summary>
    protected Tensor Hook(string point, Tensor activation) => _hooks is null ? activation : _hooks.Apply(point, activation);

    /// <summary>The zero state for <paramref name="batch"/> sequences, in the caller's dispose scope.</summary>
    public RecurrentState InitialState(long batch) => new(zeros(batch, StateSize), zeros(batch, StateSize));

    /// <summary>
    /// Runs the policy through a [T, B] block: <paramref name="observations"/> [T, B, C, H, W],
    /// starting from <paramref name="state"/> [B, S]. Where <paramref name="starts"/>[t, b] is 1 the
    /// observation begins a new episode and the state is zeroed before it (state ← (1 − start)·state),
    /// so a sequence never carries memory across episodes.
    /// </summary>
    /// <param name="observations">[T, B, C, H, W] one-hot observations.</param>
    /// <param name="state">State before step 0, [B, S].</param>
    /// <param name="starts">[T, B], 1 where an episode begins (CleanRL's <c>dones</c>), else 0.</param>
    public PolicyOutput Unroll(Tensor observations, RecurrentState state, Tensor starts)
    {
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(starts);
        var (steps, batch) = (observations.shape[0], observations.shape[1]);
        var encoded = _encoder.Encode(observations.flatten(0, 1), _hooks);
        var features = encoded.view([steps, batch, .. encoded.shape.AsSpan(1)]);
        var (output, next) = Core(features, state, starts);
        return new PolicyOutput(_actor.call(output), _critic.call(output).squeeze(-1), next);
    }

    /// <summary>The core over encoded features [T, B, Features] (or [T, B, 2·ConvChannels, H, W] from a spatial encoder): its output [T, B, coreWidth] and the state after the last step.</summary>
    protected abstract (Tensor Output, RecurrentState State) Core(Tensor features, RecurrentState state, Tensor starts);

    /// <summary>Draws every weight orthogonally with <paramref name="gain"/> and zeroes the bias.</summary>
    internal static void Orthogonal(Tensor weight, Tensor? bias, double gain, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(weight);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        // PyTorch's orthogonal_: QR of a Gaussian [rows, numel/rows] matrix (transposed when wide), Q's columns signed by R's diagonal.
        var rows = weight.shape[0];
        var columns = weight.numel() / rows;
        var flat = randn([rows, columns], generator: generator);
        if (rows < columns)
        {
            flat = flat.t();
        }
        var (q, r) = linalg.qr(flat);
        q = q.mul(r.diagonal().sign());
        if (rows < columns)
        {
            q = q.t();
        }
        weight.copy_(q.reshape(weight.shape).mul(gain));
        bias?.zero_();
    }
}

/// <summary>
/// The encoder every policy shares: two 3×3 convolutions (padding 1) with ReLU over the one-hot
/// grid, flattened, then a linear layer with ReLU to <see cref="PolicyOptions.Features"/>; or, when
/// spatial, only the convolutions (the grid kept, for a ConvLSTM core).
/// Hook points (after each ReLU): <c>encoder.conv1</c> [ConvChannels, H, W],
/// <c>encoder.conv2</c> [2·ConvChannels, H, W], and unless spatial <c>encoder.linear</c> [Features].
/// </summary>
public sealed class GridEncoder : nn.Module<Tensor, Tensor>
{
    /// <summary>Hook point of the first convolution's output.</summary>
    public const string Conv1Point = "encoder.conv1";

    /// <summary>Hook point of the second convolution's output (the spatial encoder's output).</summary>
    public const string Conv2Point = "encoder.conv2";

    /// <summary>Hook point of the linear layer's output (the flat encoder's output).</summary>
    public const string LinearPoint = "encoder.linear";

    [ComponentName(Name = "conv1")]
    private readonly Conv2d _conv1;
    [ComponentName(Name = "conv2")]
    private readonly Conv2d _conv2;
    [ComponentName(Name = "linear")]
    private readonly Linear? _linear;

    /// <summary>Creates the encoder, weights orthogonal with gain √2 from <paramref name="generator"/>.</summary>
    /// <param name="observation">The observation shape.</param>
    /// <param name="options">Sizes.</param>
    /// <param name="generator">The seeded initialization stream.</param>
    /// <param name="spatial">Stop after the convolutions (no linear layer).</param>
    public GridEncoder(ObservationShape observation, PolicyOptions options, Generator generator, bool spatial = false)
        : base(nameof(GridEncoder))
    {
        ArgumentNullException.ThrowIfNull(options);
        var channels = options.ConvChannels;
        _conv1 = nn.Conv2d(observation.Channels, channels, 3, padding: 1);
        _conv2 = nn.Conv2d(channels, 2 * channels, 3, padding: 1);
        _linear = spatial ? null : nn.Linear(2L * channels * observation.Height * observation.Width, options.Features);
        RegisterComponents();
        ActorCritic.Orthogonal(_conv1.weight!, _conv1.bias, Math.Sqrt(2), generator);
        ActorCritic.Orthogonal(_conv2.weight!, _conv2.bias, Math.Sqrt(2), generator);
        if (_linear is not null)
        {
            ActorCritic.Orthogonal(_linear.weight!, _linear.bias, Math.Sqrt(2), generator);
        }
        OutputChannels = 2 * channels;
        HookPoints = _linear is null
            ? [new(Conv1Point, [channels, observation.Height, observation.Width]), new(Conv2Point, [2 * channels, observation.Height, observation.Width])]
            : [new(Conv1Point, [channels, observation.Height, observation.Width]), new(Conv2Point, [2 * channels, observation.Height, observation.Width]), new(LinearPoint, [options.Features])];
    }

    /// <summary>Channels of the second convolution, the spatial encoder's output.</summary>
    public int OutputChannels { get; }

    /// <summary>The encoder's hook points, in forward order.</summary>
    public IReadOnlyList<HookPoint> HookPoints { get; }

    /// <summary>How <see cref="Encode"/> runs (default <see cref="EncoderKernel.LibTorch"/>); hooks, or an input that requires grad, always run LibTorch's.</summary>
    public EncoderKernel Kernel { get; set; }

    /// <summary>[N, C, H, W] → [N, Features] (spatial: [N, 2·ConvChannels, H, W]).</summary>
    public override Tensor forward(Tensor input) => Encode(input, null);

    /// <summary><see cref="forward"/> through the hook points of <paramref name="hooks"/> (none when null).</summary>
    public Tensor Encode(Tensor input, ActivationHooks? hooks)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Kernel == EncoderKernel.Fused && hooks is null && !input.requires_grad)
        {
            return FusedGridEncoder.Run(input, _conv1.weight!, _conv1.bias!, _conv2.weight!, _conv2.bias!, _linear?.weight, _linear?.bias);
        }
        var x = nn.functional.relu(_conv1.call(input));
        x = hooks is null ? x : hooks.Apply(Conv1Point, x);
        x = nn.functional.relu(_conv2.call(x));
        x = hooks is null ? x : hooks.Apply(Conv2Point, x);
        if (_linear is null)
        {
            return x;
        }
        x = nn.functional.relu(_linear.call(x.flatten(1)));
        return hooks is null ? x : hooks.Apply(LinearPoint, x);
    }
}

/// <summary>
/// CNN encoder + LSTM core + heads, as CleanRL's <c>ppo_atari_lstm.py</c>: the LSTM's weights are
/// orthogonal (gain 1) with zero biases; the heads read the LSTM's hidden state.
/// </summary>
public sealed class LstmActorCritic : ActorCritic
{
    [ComponentName(Name = "lstm")]
    private readonly LSTMCell _lstm;

    /// <summary>Creates the network from <paramref name="seed"/>.</summary>
    public LstmActorCritic(ObservationShape observation, int actions, PolicyOptions options, ulong seed)
        : this(observation, actions, options, new Generator(seed))
    {
    }

    private LstmActorCritic(ObservationShape observation, int actions, PolicyOptions options, Generator generator)
        : base(nameof(LstmActorCritic), observation, actions, options, options.LstmSize, generator)
    {
        using (generator)
        {
            _lstm = nn.LSTMCell(options.Features, options.LstmSize);
            RegisterComponents();
            Orthogonal(_lstm.weight_ih!, _lstm.bias_ih, 1.0, generator);
            Orthogonal(_lstm.weight_hh!, _lstm.bias_hh, 1.0, generator);
        }
    }

    /// <summary>Hook point of the LSTM's hidden state after each step, [LstmSize].</summary>
    public const string HiddenPoint = "lstm.hidden";

    /// <summary>Hook point of the LSTM's cell state after each step, [LstmSize].</summary>
    public const string CellPoint = "lstm.cell";

    public override int StateSize => Options.LstmSize;

    protected override IEnumerable<HookPoint> CoreHookPoints() => [new(CellPoint, [Options.LstmSize]), new(HiddenPoint, [Options.LstmSize])];

    protected override (Tensor Output, RecurrentState State) Core(Tensor features, RecurrentState state, Tensor starts)
    {
        var steps = features.shape[0];
        if (LstmKernel == LstmKernel.Fused && Hooks is null)
        {
            var (hidden, lastCell) = LstmSequence.Run(features, state.Hidden, state.Cell, starts.neg().add(1), _lstm.weight_ih!, _lstm.weight_hh!, _lstm.bias_ih!, _lstm.bias_hh!);
            return (hidden, new RecurrentState(hidden[steps - 1], lastCell));
        }
        var (h, c) = (state.Hidden, state.Cell);
        var outputs = new Tensor[steps];
        // 1 − start for every tick at once: one op per tick instead of four (select, neg, add, unsqueeze).
        var keeps = starts.neg().add(1).unsqueeze(2);
        for (var t = 0; t < steps; t++)
        {
            var keep = keeps[t];
            (h, c) = _lstm.call(features[t], (h.mul(keep), c.mul(keep)));
            c = Hook(CellPoint, c);
            h = Hook(HiddenPoint, h);
            outputs[t] = h;
        }
        return (stack(outputs), new RecurrentState(h, c));
    }
}

/// <summary>The feed-forward control: the heads read the encoder's features directly; its state is empty, [B, 0], and passes through.</summary>
public sealed class CnnActorCritic : ActorCritic
{
    /// <summary>Creates the network from <paramref name="seed"/>.</summary>
    public CnnActorCritic(ObservationShape observation, int actions, PolicyOptions options, ulong seed)
        : this(observation, actions, options, new Generator(seed))
    {
    }

    private CnnActorCritic(ObservationShape observation, int actions, PolicyOptions options, Generator generator)
        : base(nameof(CnnActorCritic), observation, actions, options, options.Features, generator)
    {
        generator.Dispose();
    }

    public override int StateSize => 0;

    protected override IEnumerable<HookPoint> CoreHookPoints() => [];

    protected override (Tensor Output, RecurrentState State) Core(Tensor features, RecurrentState state, Tensor starts) => (features, state);
}
