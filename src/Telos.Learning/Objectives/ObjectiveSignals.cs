using System.Collections.Immutable;
using Telos.Learning.Native;
using Telos.Objectives;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Objectives;

/// <summary>Optimizer settings shared by the gradient-based signals.</summary>
/// <param name="Steps">Full-batch Adam steps.</param>
/// <param name="LearningRate">Adam's initial step size; annealed linearly to 0 over <see cref="Steps"/> so the fit settles.</param>
/// <param name="Seed">Seeds LibTorch (initialization) and every sampled choice.</param>
/// <param name="Progress">Receives one update every 50 steps.</param>
public sealed record TrainingOptions(int Steps = 500, double LearningRate = 0.05, long Seed = 0, IProgress<ProgressUpdate>? Progress = null);

/// <summary>What a fit reports: steps taken and named metrics (they go into the card's provenance).</summary>
public sealed record FitReport(long Steps, ImmutableSortedDictionary<string, double> Metrics);

/// <summary>Pairs of trajectory segments with a preference label: P(a ≻ b) target in [0, 1].</summary>
/// <param name="Segments">The transitions; segment k is rows [k·L, (k+1)·L).</param>
/// <param name="Length">L, transitions per segment.</param>
/// <param name="First">Index of segment a of each pair.</param>
/// <param name="Second">Index of segment b of each pair.</param>
/// <param name="Label">1 when a is preferred, 0 when b is, 0.5 for a tie; or a probability.</param>
public sealed record PreferencePairs(TransitionSample Segments, int Length, int[] First, int[] Second, double[] Label)
{
    /// <summary>Number of whole segments.</summary>
    public int SegmentCount => Segments.Count / Length;

    /// <summary>
    /// Labels <paramref name="pairs"/> random pairs of segments with a synthetic labeller driven by
    /// <paramref name="reference"/>: Bradley–Terry P(a ≻ b) = σ((R(a) − R(b))/T) sampled with
    /// <paramref name="seed"/>, or the hard comparison when <paramref name="temperature"/> = 0.
    /// </summary>
    public static PreferencePairs Synthetic(TransitionSample segments, int length, int pairs, ITransitionObjective reference, double temperature, ulong seed)
    {
        if (length < 1 || segments.Count < 2 * length)
        {
            throw new TelosInputException($"preferences need at least two segments of {length} transitions; the sample has {segments.Count} transitions");
        }
        var returns = SegmentReturns(segments, length, reference);
        var rng = Seeds.Stream(seed, "preference-pairs");
        var first = new int[pairs];
        var second = new int[pairs];
        var label = new double[pairs];
        for (var p = 0; p < pairs; p++)
        {
            var a = rng.NextInt(returns.Length);
            var b = rng.NextInt(returns.Length - 1);
            b += b >= a ? 1 : 0;
            first[p] = a;
            second[p] = b;
            var diff = returns[a] - returns[b];
            label[p] = temperature > 0
                ? (rng.NextDouble() < 1.0 / (1.0 + Math.Exp(-diff / temperature)) ? 1.0 : 0.0)
                : diff > 0 ? 1.0 : diff < 0 ? 0.0 : 0.5;
        }
        return new PreferencePairs(segments, length, first, second, label);
    }

    /// <summary>Σ R over each segment, [segments].</summary>
    public static double[] SegmentReturns(TransitionSample segments, int length, ITransitionObjective reward)
    {
        var rewards = new double[segments.Count];
        reward = FeatureBinding.Bind(reward, segments.Features);
        reward.Evaluate(segments.From, segments.FromTerminal, segments.To, segments.ToTerminal, rewards);
        var count = segments.Count / length;
        var returns = new double[count];
        for (var k = 0; k < count; k++)
        {
            returns[k] = rewards.AsSpan(k * length, length).ToArray().Sum();
        }
        return returns;
    }
}

/// <summary>
/// How objectives learn, one method per signal. Every method is full-batch Adam on CPU in float64,
/// seeded by <see cref="TrainingOptions.Seed"/>, so the same inputs and seed give the same weights.
/// Frozen feature columns keep their weights (their gradients are zeroed before each step).
/// </summary>
public static class ObjectiveSignals
{
    /// <summary>
    /// Reward regression: minimize mean (R(s, s′) − r)² over transitions with environment rewards
    /// (samples of the base objective), plus the form's regularizer.
    /// </summary>
    /// <exception cref="TelosInputException">The sample has no rewards, or a neural form lacks observations.</exception>
    public static FitReport FitRewards(TrainableObjective model, TransitionSample data, TrainingOptions options, IReadOnlyList<int>? frozen = null)
    {
        var rewards = data.Rewards ?? throw new TelosInputException("reward regression needs transitions with rewards");
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var (from, fromT, to, toT) = Inputs(model, data);
        var target = tensor(rewards, ScalarType.Float64);
        if (model is ConvexObjectiveForm convex)
        {
            convex.Standardize(to);
        }
        (model as NetObjectiveForm)?.Standardize(to);
        var steps = Optimize(model, options, frozen, () => (model.Reward(from, fromT, to, toT) - target).pow(2).mean() + model.Regularizer());
        using (no_grad())
        {
            var prediction = model.Reward(from, fromT, to, toT);
            return Report(steps, RegressionMetrics(prediction, target));
        }
    }

    /// <summary>
    /// Sparse selection: an L1 fit over all features, keep the <paramref name="keep"/> largest
    /// weights, refit the survivors without L1 (so they are not shrunk).
    /// </summary>
    public static FitReport FitSparse(SparseObjectiveForm model, TransitionSample data, int keep, TrainingOptions options)
    {
        FitRewards(model, data, options);
        model.KeepTop(keep);
        var l1 = model.L1;
        model.L1 = 0;
        var refit = FitRewards(model, data, options);
        model.L1 = l1;
        return refit with { Steps = 2L * options.Steps, Metrics = refit.Metrics.Add("kept", keep) };
    }

    /// <summary>
    /// Goal regression: the programmer's labels y on chosen states, plus an anchor that keeps V near
    /// its values before this fit on other states:
    /// loss = mean (V(xₗ) − yₗ)² + λ · mean (V(xₐ) − V₀(xₐ))².
    /// </summary>
    /// <param name="model">The objective to move (usually loaded from its card).</param>
    /// <param name="labelled">[L, D] inputs of the labelled states.</param>
    /// <param name="labels">[L] the values the programmer wants.</param>
    /// <param name="anchor">[M, D] inputs of the anchor states (may be empty).</param>
    /// <param name="anchorWeight">λ ≥ 0.</param>
    /// <param name="options">Optimizer settings.</param>
    /// <param name="frozen">Feature columns whose weights stay put.</param>
    public static FitReport FitGoal(TrainableObjective model, double[] labelled, double[] labels, double[] anchor, double anchorWeight, TrainingOptions options, IReadOnlyList<int>? frozen = null)
    {
        if (labels.Length == 0)
        {
            throw new TelosInputException("goal regression needs at least one labelled state");
        }
        if (anchorWeight < 0 || !double.IsFinite(anchorWeight))
        {
            throw new TelosInputException($"anchor weight {anchorWeight} must be a finite number ≥ 0");
        }
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var width = labelled.Length / labels.Length;
        var x = TrainableObjective.Rows(labelled, width);
        var y = tensor(labels, ScalarType.Float64);
        var xa = TrainableObjective.Rows(anchor, width);
        Tensor anchorTarget;
        using (no_grad())
        {
            anchorTarget = anchor.Length == 0 ? zeros(0, dtype: ScalarType.Float64) : model.call(xa).detach();
        }
        var steps = Optimize(model, options, frozen, () =>
        {
            var loss = (model.call(x) - y).pow(2).mean();
            return anchor.Length == 0 ? loss : loss + anchorWeight * (model.call(xa) - anchorTarget).pow(2).mean();
        });
        using (no_grad())
        {
            var metrics = RegressionMetrics(model.call(x), y);
            var drift = anchor.Length == 0 ? 0.0 : (model.call(xa) - anchorTarget).abs().mean().item<double>();
            return Report(steps, metrics.Add("anchor_drift", drift));
        }
    }

    /// <summary>
    /// Preference comparisons: Bradley–Terry cross-entropy, P(a ≻ b) = σ(R(a) − R(b)) with R the
    /// model's return over each segment.
    /// </summary>
    public static FitReport FitPreferences(TrainableObjective model, PreferencePairs pairs, TrainingOptions options, IReadOnlyList<int>? frozen = null)
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var count = pairs.SegmentCount;
        var rows = count * pairs.Length;
        var (from, fromT, to, toT) = Inputs(model, pairs.Segments);
        from = from.narrow(0, 0, rows);
        fromT = fromT.narrow(0, 0, rows);
        to = to.narrow(0, 0, rows);
        toT = toT.narrow(0, 0, rows);
        (model as NetObjectiveForm)?.Standardize(to);
        var a = tensor(pairs.First.Select(i => (long)i).ToArray());
        var b = tensor(pairs.Second.Select(i => (long)i).ToArray());
        var label = tensor(pairs.Label, ScalarType.Float64);
        Tensor Logits()
        {
            var segmentReturns = model.Reward(from, fromT, to, toT).reshape(count, pairs.Length).sum(1);
            return segmentReturns.index_select(0, a) - segmentReturns.index_select(0, b);
        }

        var steps = Optimize(model, options, frozen, () => nn.functional.binary_cross_entropy_with_logits(Logits(), label) + model.Regularizer());
        using (no_grad())
        {
            var logits = Logits();
            var loss = nn.functional.binary_cross_entropy_with_logits(logits, label).item<double>();
            // Accuracy over decided pairs only: a tie (label 0.5) has no side to agree with.
            var decided = label.ne(0.5);
            var predicted = (logits > 0).to_type(ScalarType.Float64);
            var decidedCount = decided.sum().item<long>();
            var metrics = ImmutableSortedDictionary<string, double>.Empty.Add("bt_loss", loss).Add("decided_pairs", decidedCount);
            if (decidedCount > 0)
            {
                metrics = metrics.Add("accuracy", predicted.masked_select(decided).eq(label.masked_select(decided)).to_type(ScalarType.Float64).mean().item<double>());
            }
            return Report(steps, metrics);
        }
    }

    /// <summary>
    /// Bootstrapped values by TD(λ): <paramref name="iterations"/> rounds of computing λ-returns
    /// Gₜ = rₜ + γ[(1 − λ)V(s′ₜ) + λGₜ₊₁] with the current V held fixed (Gₜ = rₜ at termination,
    /// rₜ + γV(s′ₜ) where the walk was cut), then regressing V(sₜ) toward them.
    /// </summary>
    public static FitReport FitTdLambda(TrainableObjective model, TransitionSample data, double gamma, double lambda, int iterations, TrainingOptions options, IReadOnlyList<int>? frozen = null)
    {
        var rewards = data.Rewards ?? throw new TelosInputException("TD(λ) needs transitions with rewards");
        var continues = data.Continues ?? throw new TelosInputException("TD(λ) needs episode boundaries (Continues)");
        if (model.Input != ObjectiveInput.Features)
        {
            throw new TelosInputException("TD(λ) here trains feature forms (linear, sparse, monotone, convex, shaped); the net form reads observations of s′ only");
        }
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var f = data.Features.Count;
        var from = TrainableObjective.Rows(data.From, f);
        var to = TrainableObjective.Rows(data.To, f);
        if (model is ConvexObjectiveForm convex)
        {
            convex.Standardize(from);
        }
        var n = data.Count;
        var targets = new double[n];
        var steps = 0L;
        for (var round = 0; round < Math.Max(1, iterations); round++)
        {
            double[] next;
            using (no_grad())
            {
                next = TrainableObjective.ToArray(model.call(to));
            }
            var g = 0.0;
            for (var t = n - 1; t >= 0; t--)
            {
                var bootstrap = data.ToTerminal[t] ? 0.0 : next[t];
                g = data.ToTerminal[t] ? rewards[t]
                    : continues[t] ? rewards[t] + gamma * ((1 - lambda) * bootstrap + lambda * g)
                    : rewards[t] + gamma * bootstrap;
                targets[t] = g;
            }
            var y = tensor(targets, ScalarType.Float64);
            steps += Optimize(model, options with { Seed = options.Seed + round }, frozen, () => (model.call(from) - y).pow(2).mean() + model.Regularizer());
        }
        using (no_grad())
        {
            return Report(steps, RegressionMetrics(model.call(from), tensor(targets, ScalarType.Float64)).Add("rounds", iterations));
        }
    }

    /// <summary>Input tensors of a sample for this model: features, or observations of s′ for the net form.</summary>
    internal static (Tensor From, Tensor FromTerminal, Tensor To, Tensor ToTerminal) Inputs(TrainableObjective model, TransitionSample data)
    {
        var fromT = TrainableObjective.Flags(data.FromTerminal);
        var toT = TrainableObjective.Flags(data.ToTerminal);
        if (model.Input == ObjectiveInput.Observation)
        {
            var obs = data.ToObservations ?? throw new TelosInputException("this form reads observations; collect the sample with observations");
            var to = TrainableObjective.Rows(obs, data.ObservationShape!.Value.Size);
            return (to, fromT, to, toT);
        }
        var columns = FeatureBinding.Columns(new Telos.Environments.FeatureSchema(model.Features), data.Features, "training data");
        var f = data.Features.Count;
        var fromX = TrainableObjective.Rows(data.From, f);
        var toX = TrainableObjective.Rows(data.To, f);
        if (columns is not null)
        {
            var index = tensor(columns.Select(c => (long)c).ToArray());
            fromX = fromX.index_select(1, index);
            toX = toX.index_select(1, index);
        }
        return (fromX, fromT, toX, toT);
    }

    private static long Optimize(TrainableObjective model, TrainingOptions options, IReadOnlyList<int>? frozen, Func<Tensor> loss)
    {
        TorchRuntime.Seed(options.Seed);
        var optimizer = optim.Adam(model.parameters(), lr: options.LearningRate);
        for (var step = 0; step < options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            foreach (var group in optimizer.ParamGroups)
            {
                group.LearningRate = options.LearningRate * (1.0 - (double)step / options.Steps);
            }
            optimizer.zero_grad();
            var value = loss();
            value.backward();
            if (frozen is { Count: > 0 })
            {
                model.MaskGradients(frozen);
            }
            optimizer.step();
            if (options.Progress is { } progress && (step % 50 == 0 || step == options.Steps - 1))
            {
                progress.Report(new ProgressUpdate("objective", step + 1, options.Steps, $"loss {value.item<double>():G4}"));
            }
        }
        return options.Steps;
    }

    private static ImmutableSortedDictionary<string, double> RegressionMetrics(Tensor prediction, Tensor target)
    {
        var mse = (prediction - target).pow(2).mean().item<double>();
        var variance = target.numel() > 1 ? target.var().item<double>() : 0.0;
        var r2 = variance > 0 ? 1.0 - mse / variance : double.NaN;
        var metrics = ImmutableSortedDictionary<string, double>.Empty.Add("mse", mse);
        return double.IsFinite(r2) ? metrics.Add("r2", r2) : metrics;
    }

    private static FitReport Report(long steps, ImmutableSortedDictionary<string, double> metrics) => new(steps, metrics);
}
