using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Inspection;

/// <summary>
/// Rows for a linear probe: activation vectors, a class label each, and the group (level) each
/// came from, so held-out rows come from held-out levels.
/// </summary>
public sealed class ProbeDataset
{
    private readonly List<float[]> _features = [];
    private readonly List<int> _labels = [];
    private readonly List<long> _groups = [];

    /// <summary>Rows so far.</summary>
    public int Count => _labels.Count;

    /// <summary>Width D of every row (0 before the first).</summary>
    public int Width => _features.Count == 0 ? 0 : _features[0].Length;

    /// <summary>The activation rows.</summary>
    public IReadOnlyList<float[]> Features => _features;

    /// <summary>The labels, one per row.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>The group of each row (e.g. the level seed).</summary>
    public IReadOnlyList<long> Groups => _groups;

    /// <summary>Adds a row.</summary>
    /// <exception cref="ArgumentException">A row of another width, or a negative label.</exception>
    public void Add(float[] features, int label, long group)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        if (_features.Count > 0 && features.Length != Width)
        {
            throw new ArgumentException($"row of width {features.Length}; the dataset's rows have {Width}", nameof(features));
        }
        _features.Add(features);
        _labels.Add(label);
        _groups.Add(group);
    }

    /// <summary>Adds an episode's steps: row t is <paramref name="activations"/>[t] labelled <paramref name="labels"/>[t]; steps whose label is null are skipped.</summary>
    /// <exception cref="ArgumentException">Label and activation counts differ.</exception>
    public void AddEpisode(IReadOnlyList<float[]> activations, IReadOnlyList<int?> labels, long group)
    {
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(labels);
        if (activations.Count != labels.Count)
        {
            throw new ArgumentException($"{activations.Count} activations but {labels.Count} labels", nameof(labels));
        }
        for (var t = 0; t < labels.Count; t++)
        {
            if (labels[t] is { } label)
            {
                Add(activations[t], label, group);
            }
        }
    }

    /// <summary>The label of step t = the action taken k steps later (null where the episode ends first): the "next k actions" target, one probe per k.</summary>
    public static int?[] ActionsAhead(IReadOnlyList<int> actions, int k)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        return [.. Enumerable.Range(0, actions.Count).Select(t => t + k < actions.Count ? actions[t + k] : (int?)null)];
    }
}

/// <summary>What a probe scored.</summary>
/// <param name="TrainAccuracy">Share of training rows classified right.</param>
/// <param name="HeldOutAccuracy">Share of held-out rows (from held-out groups) classified right.</param>
/// <param name="TrainRows">Training rows.</param>
/// <param name="HeldOutRows">Held-out rows.</param>
/// <param name="MajorityBaseline">Held-out accuracy of always answering the training rows' most frequent label: what a probe must beat.</param>
public sealed record ProbeResult(double TrainAccuracy, double HeldOutAccuracy, int TrainRows, int HeldOutRows, double MajorityBaseline)
{
    /// <summary>Per held-out row, in row order: whether the probe classified it right (for intervals over held-out groups).</summary>
    public IReadOnlyList<bool> HeldOutCorrect { get; init; } = [];

    /// <summary>The group of each held-out row, aligned with <see cref="HeldOutCorrect"/>.</summary>
    public IReadOnlyList<long> HeldOutGroups { get; init; } = [];
}

/// <summary>
/// Linear probes from activations to a class label (learned-planner's probes): features are
/// standardized with the training rows' mean and deviation, groups (levels) are split into training
/// and held-out with a seeded shuffle, and accuracy is reported on both. Computed in float64.
/// </summary>
public static class LinearProbe
{
    /// <summary>Ridge regression onto one-hot labels (closed form, (XᵀX + λI)⁻¹XᵀY on centred data); the class is the argmax.</summary>
    /// <param name="data">The rows.</param>
    /// <param name="classes">K: labels are 0..K−1.</param>
    /// <param name="lambda">λ ≥ 0, the L2 penalty.</param>
    /// <param name="heldOutFraction">Share of the groups held out, in (0, 1).</param>
    /// <param name="seed">The split's seed.</param>
    /// <exception cref="ArgumentException">Bad arguments, a label ≥ K, or a split with an empty side.</exception>
    public static ProbeResult Ridge(ProbeDataset data, int classes, double lambda = 1, double heldOutFraction = 0.25, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lambda);
        return Fit(data, classes, heldOutFraction, seed, (x, y) =>
        {
            var targets = nn.functional.one_hot(y, classes).to_type(ScalarType.Float64);
            var mean = targets.mean([0], keepdim: true);
            var gram = x.t().matmul(x).add(eye(x.shape[1], dtype: ScalarType.Float64).mul(lambda));
            var weights = linalg.solve(gram, x.t().matmul(targets.sub(mean)));
            return features => features.matmul(weights).add(mean);
        });
    }

    /// <summary>Multinomial logistic regression (softmax cross-entropy + <paramref name="l2"/>·‖W‖², full-batch Adam from zero weights).</summary>
    /// <param name="data">The rows.</param>
    /// <param name="classes">K: labels are 0..K−1.</param>
    /// <param name="l2">The L2 penalty ≥ 0.</param>
    /// <param name="iterations">Adam steps ≥ 1.</param>
    /// <param name="learningRate">Adam's rate.</param>
    /// <param name="heldOutFraction">Share of the groups held out, in (0, 1).</param>
    /// <param name="seed">The split's seed.</param>
    /// <exception cref="ArgumentException">Bad arguments, a label ≥ K, or a split with an empty side.</exception>
    public static ProbeResult Logistic(ProbeDataset data, int classes, double l2 = 1e-3, int iterations = 300, double learningRate = 0.05, double heldOutFraction = 0.25, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(l2);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        return Fit(data, classes, heldOutFraction, seed, (x, y) =>
        {
            var weights = new TorchSharp.Modules.Parameter(zeros([x.shape[1], classes], ScalarType.Float64));
            var bias = new TorchSharp.Modules.Parameter(zeros([classes], ScalarType.Float64));
            using var optimizer = optim.Adam([weights, bias], learningRate);
            for (var i = 0; i < iterations; i++)
            {
                using var step = NewDisposeScope();
                optimizer.zero_grad();
                var loss = nn.functional.cross_entropy(x.matmul(weights).add(bias), y).add(weights.square().sum().mul(l2));
                loss.backward();
                optimizer.step();
            }
            var (w, b) = (weights.detach(), bias.detach());
            return features => features.matmul(w).add(b);
        });
    }

    /// <summary>Splits the distinct groups: a seeded shuffle, the first ⌈fraction · groups⌉ held out.</summary>
    /// <returns>Row indices of each side.</returns>
    /// <exception cref="ArgumentException">A fraction outside (0, 1), or fewer than two groups.</exception>
    public static (int[] Train, int[] HeldOut) SplitByGroup(IReadOnlyList<long> groups, double heldOutFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (heldOutFraction is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "must be in (0, 1)");
        }
        var distinct = groups.Distinct().Order().ToArray();
        if (distinct.Length < 2)
        {
            throw new ArgumentException($"a split by group needs at least two groups, got {distinct.Length}", nameof(groups));
        }
        var stream = Seeds.Stream(seed, "probe/split");
        for (var i = distinct.Length - 1; i > 0; i--)
        {
            var j = stream.NextInt(i + 1);
            (distinct[i], distinct[j]) = (distinct[j], distinct[i]);
        }
        var heldOutCount = Math.Clamp((int)Math.Ceiling(heldOutFraction * distinct.Length), 1, distinct.Length - 1);
        var heldOut = distinct.Take(heldOutCount).ToHashSet();
        var rows = Enumerable.Range(0, groups.Count);
        return ([.. rows.Where(r => !heldOut.Contains(groups[r]))], [.. rows.Where(r => heldOut.Contains(groups[r]))]);
    }

    private static ProbeResult Fit(ProbeDataset data, int classes, double heldOutFraction, ulong seed, Func<Tensor, Tensor, Func<Tensor, Tensor>> train)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        if (data.Labels.Any(l => l >= classes))
        {
            throw new ArgumentException($"labels must be below classes {classes}", nameof(data));
        }
        var (trainRows, heldOutRows) = SplitByGroup(data.Groups, heldOutFraction, seed);
        using var scope = NewDisposeScope();
        var (xTrain, yTrain) = Matrix(data, trainRows);
        var (xHeldOut, yHeldOut) = Matrix(data, heldOutRows);
        var mean = xTrain.mean([0], keepdim: true);
        var deviation = xTrain.std(0, keepdim: true).add(1e-6);
        xTrain = xTrain.sub(mean).div(deviation);
        xHeldOut = xHeldOut.sub(mean).div(deviation);
        var predict = train(xTrain, yTrain);
        using var noGrad = no_grad();
        var majority = yTrain.bincount(null, classes).argmax().item<long>();
        var heldOutScores = predict(xHeldOut);
        return new ProbeResult(Accuracy(predict(xTrain), yTrain), Accuracy(heldOutScores, yHeldOut), trainRows.Length, heldOutRows.Length,
            yHeldOut.eq(majority).to_type(ScalarType.Float64).mean().item<double>())
        {
            HeldOutCorrect = heldOutScores.argmax(1).eq(yHeldOut).data<bool>().ToArray(),
            HeldOutGroups = [.. heldOutRows.Select(r => data.Groups[r])],
        };
    }

    private static double Accuracy(Tensor scores, Tensor labels) => scores.argmax(1).eq(labels).to_type(ScalarType.Float64).mean().item<double>();

    private static (Tensor X, Tensor Y) Matrix(ProbeDataset data, int[] rows)
    {
        var width = data.Width;
        var x = new double[rows.Length * width];
        var y = new long[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var row = data.Features[rows[i]];
            for (var j = 0; j < width; j++)
            {
                x[i * width + j] = row[j];
            }
            y[i] = data.Labels[rows[i]];
        }
        return (tensor(x).view(rows.Length, width), tensor(y));
    }
}
