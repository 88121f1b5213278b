using System.Collections.Immutable;
using System.Security.Cryptography;
using Telos.Agents;
using Telos.Environments;
using Telos.IO;
using Telos.Learning.Native;
using Telos.Objectives;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>A card with, for neural forms, its module (weights loaded).</summary>
/// <param name="Card">The validated card.</param>
/// <param name="Module">The module of convex and net forms; null for linear forms (their weights live in the card).</param>
/// <param name="Source">Where it came from, for error messages.</param>
public sealed record LoadedObjective(ObjectiveCard Card, TrainableObjective? Module, string Source)
{
    /// <summary>An objective held in memory (a linear card, or a card with its trained module).</summary>
    public static LoadedObjective Of(ObjectiveCard card, TrainableObjective? module = null)
    {
        card.Validate("card");
        if (!card.IsLinear && module is null)
        {
            throw new ArgumentException($"form '{ObjectiveCard.FormName(card.Form)}' needs its module", nameof(module));
        }
        return new LoadedObjective(card, module, $"objective ({ObjectiveCard.FormName(card.Form)}, revision {card.Revision})");
    }

    /// <summary>
    /// The compiled state objective over the card's features: managed dot product for linear
    /// forms (shaped: the base U), one TorchSharp forward per batch for the convex form.
    /// </summary>
    /// <exception cref="TelosInputException">The net form reads observations, not features.</exception>
    public ICompiledObjective Compile()
    {
        if (Card.IsLinear)
        {
            return Card.Compile();
        }
        if (Module is null || Module.Input != ObjectiveInput.Features)
        {
            throw new TelosInputException($"{Source}: form '{ObjectiveCard.FormName(Card.Form)}' reads observations, not features; this operation needs a feature form");
        }
        ICompiledObjective compiled = new TorchFeatureObjective(Module);
        return Card.Penalties.IsEmpty ? compiled : new PenalizedObjective(compiled, Card.Penalties);
    }

    /// <summary>The transition reward R(s, s′) (potential shaping included for the shaped form).</summary>
    public ITransitionObjective Transition() => Card.IsLinear ? Card.CompileTransition() : new ArrivalReward(Compile());

    /// <summary>
    /// The objective as a hard-coded agent pursues it: readable for linear-family cards, neural
    /// (queryable, not readable) for the convex and net forms; bound to each level by <see cref="Evaluator{TState}"/>.
    /// </summary>
    /// <param name="label">How tables name it (default: the source).</param>
    public AgentObjective<TState> ForAgent<TState>(string? label = null)
        where TState : struct =>
        new(label ?? Source, Card.IsLinear ? AgentKind.ReadableObjective : AgentKind.NeuralObjective, Evaluator, Card);

    /// <summary>What planners consume for <paramref name="environment"/>: any form, batched.</summary>
    /// <exception cref="TelosInputException">The card's features or observation shape do not match the environment.</exception>
    public IStateEvaluator<TState> Evaluator<TState>(IEnvironment<TState> environment)
        where TState : struct
    {
        ObjectiveCardFile.RequireFeatures(Card, environment.Features, environment.Name, Source);
        if (Module is { Input: ObjectiveInput.Observation } net)
        {
            var shape = Card.Network!.Observation!.Value;
            if (shape != environment.ObservationShape)
            {
                throw new TelosInputException($"{Source}: the net reads {shape.Channels}×{shape.Height}×{shape.Width} observations; environment '{environment.Name}' writes {environment.ObservationShape.Channels}×{environment.ObservationShape.Height}×{environment.ObservationShape.Width}");
            }
            return new TorchObservationEvaluator<TState>(environment, net, Card.Penalties);
        }
        return new FeatureObjectiveEvaluator<TState>(environment, Compile());
    }
}

/// <summary>
/// Saves and loads objectives: the JSON card, plus for neural forms a safetensors file (via
/// TorchSharp.PyBridge) next to it, named in the card with its SHA-256. Both writes are atomic.
/// A truncated, replaced or unreadable weight file is refused with one line naming it.
/// </summary>
public static class ObjectiveFiles
{
    /// <summary>The weight file path for a card path: same folder and stem, <c>.safetensors</c>.</summary>
    public static string WeightsPath(string cardPath) => Path.ChangeExtension(cardPath, ".safetensors");

    /// <summary>Writes the card (and the module's weights for neural forms). Returns the card as written.</summary>
    public static ObjectiveCard Save(ObjectiveCard card, TrainableObjective? module, string path)
    {
        if (!card.IsLinear)
        {
            if (module is null)
            {
                throw new ArgumentException($"form '{ObjectiveCard.FormName(card.Form)}' needs its module to be saved", nameof(module));
            }
            var weights = WeightsPath(path);
            byte[] bytes;
            var temp = Path.Combine(Path.GetTempPath(), $"telos-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
            try
            {
                module.save_safetensors(temp);
                bytes = File.ReadAllBytes(temp);
            }
            finally
            {
                File.Delete(temp);
            }
            AtomicFile.WriteAllBytes(weights, bytes);
            card = card with { WeightsFile = Path.GetFileName(weights), WeightsSha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) };
        }
        ObjectiveCardFile.Save(card, path);
        return card;
    }

    /// <summary>Loads and validates a card and, for neural forms, its weights.</summary>
    /// <exception cref="TelosInputException">Anything wrong with either file; one line naming the file.</exception>
    public static LoadedObjective Load(string path)
    {
        var source = $"objective card '{path}'";
        var card = ObjectiveCardFile.Load(path);
        if (card.IsLinear)
        {
            return new LoadedObjective(card, null, source);
        }
        if (string.IsNullOrEmpty(card.WeightsFile))
        {
            throw new TelosInputException($"{source}: form '{ObjectiveCard.FormName(card.Form)}' needs 'weights_file'");
        }
        var weights = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, card.WeightsFile);
        if (!File.Exists(weights))
        {
            throw new TelosInputException($"weights file '{weights}' named by {source} does not exist");
        }
        var bytes = File.ReadAllBytes(weights);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(sha, card.WeightsSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new TelosInputException($"weights file '{weights}' is corrupt or replaced: its SHA-256 {sha[..12]}… differs from the card's {(card.WeightsSha256 ?? "").PadRight(12)[..12]}…");
        }
        var module = Build(card);
        try
        {
            module.load_safetensors(weights);
        }
        catch (Exception e) when (e is not TelosInputException)
        {
            throw new TelosInputException($"weights file '{weights}' cannot be read as the card's {ObjectiveCard.FormName(card.Form)} network: {e.Message.Split('\n')[0]}");
        }
        foreach (var p in module.parameters())
        {
            using var scope = NewDisposeScope();
            if (!p.isfinite().all().item<bool>())
            {
                throw new TelosInputException($"weights file '{weights}' holds NaN or infinite weights");
            }
        }
        return new LoadedObjective(card, module, source);
    }

    /// <summary>
    /// A trainable module for a card: linear forms start from the card's weights (so goal
    /// regression moves the current objective); neural forms get their architecture (weights are
    /// loaded separately).
    /// </summary>
    public static TrainableObjective Build(ObjectiveCard card)
    {
        TorchRuntime.EnsureInitialized();
        switch (card.Form)
        {
            case ObjectiveForm.Linear:
            case ObjectiveForm.Sparse:
                return new LinearObjectiveForm(card.Features, card.Weights.AsSpan(), card.Bias);
            case ObjectiveForm.Monotone:
                return MonotoneFrom(card);
            case ObjectiveForm.Shaped:
                return new LinearObjectiveForm(card.Features, card.Weights.AsSpan(), card.Bias);
            case ObjectiveForm.Convex:
                return new ConvexObjectiveForm(card.Features, card.Network!.Hidden);
            case ObjectiveForm.Net when card.Network!.Input == "features":
                return new NetObjectiveForm(card.Features, default, card.Network.Hidden, ObjectiveInput.Features);
            case ObjectiveForm.Net:
                return new NetObjectiveForm(card.Features, card.Network!.Observation ?? throw new TelosInputException("net card needs network.observation"), card.Network.Hidden);
            default:
                throw new TelosInputException($"unknown form {card.Form}");
        }
    }

    private static MonotoneObjectiveForm MonotoneFrom(ObjectiveCard card)
    {
        var form = new MonotoneObjectiveForm(card.Features, card.Signs.AsSpan());
        form.SetWeights(card.Weights.AsSpan(), card.Bias);
        return form;
    }
}

/// <summary>A features-input module as an <see cref="ICompiledObjective"/>: one no-grad forward per call.</summary>
public sealed class TorchFeatureObjective : ICompiledObjective
{
    private readonly TrainableObjective _module;

    public TorchFeatureObjective(TrainableObjective module)
    {
        if (module.Input != ObjectiveInput.Features)
        {
            throw new ArgumentException("module reads observations", nameof(module));
        }
        _module = module;
        Features = new FeatureSchema(module.Features);
    }

    public FeatureSchema Features { get; }

    public void Evaluate(ReadOnlySpan<double> features, Span<double> values)
    {
        if (values.IsEmpty)
        {
            return;
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var v = _module.call(TrainableObjective.Rows(features, Features.Count)).contiguous();
        v.data<double>().CopyTo(values);
    }
}

/// <summary>The net form as a planner's evaluator: observations written for the batch, one forward per call.</summary>
public sealed class TorchObservationEvaluator<TState> : IStateEvaluator<TState>
    where TState : struct
{
    private readonly IEnvironment<TState> _environment;
    private readonly TrainableObjective _module;
    private readonly PenaltyTerm[] _penalties;
    private readonly int[] _penaltyColumns;
    private float[] _observations = [];
    private readonly double[] _features;

    public TorchObservationEvaluator(IEnvironment<TState> environment, TrainableObjective module, ImmutableArray<PenaltyTerm> penalties)
    {
        _environment = environment;
        _module = module;
        _penalties = [.. penalties];
        _penaltyColumns = _penalties.Select(p => environment.Features.Require(p.Feature)).ToArray();
        _features = new double[environment.Features.Count];
    }

    public void Evaluate(ReadOnlySpan<TState> states, Span<double> values)
    {
        var size = _environment.ObservationShape.Size;
        if (_observations.Length < states.Length * size)
        {
            _observations = new float[states.Length * size];
        }
        for (var i = 0; i < states.Length; i++)
        {
            _environment.WriteObservation(states[i], _observations.AsSpan(i * size, size));
        }
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var v = _module.call(TrainableObjective.Rows(_observations.AsSpan(0, states.Length * size), size)).contiguous();
            v.data<double>().CopyTo(values);
        }
        if (_penalties.Length > 0)
        {
            for (var i = 0; i < states.Length; i++)
            {
                _environment.WriteFeatures(states[i], _features);
                for (var t = 0; t < _penalties.Length; t++)
                {
                    values[i] -= _penalties[t].Cost(_features[_penaltyColumns[t]]);
                }
            }
        }
    }
}
