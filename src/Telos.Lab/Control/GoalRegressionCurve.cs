using System.Diagnostics;
using System.Globalization;
using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Lab.Control;

/// <summary>One labelled state of goal regression.</summary>
/// <param name="LevelSeed">The shifted distribution's level it lies in.</param>
/// <param name="State">The state's index in that level (<see cref="IEnumerableEnvironment{TState}.StateAt"/>).</param>
/// <param name="Value">Its label: the true reward for arriving there.</param>
/// <param name="OnGoal">The state satisfies the family's true goal (the cheese).</param>
/// <param name="OnProxy">It satisfies the proxy goal and not the true one (the corner, with the cheese elsewhere).</param>
public sealed record GoalLabel(long LevelSeed, int State, double Value, bool OnGoal, bool OnProxy);

/// <summary>Settings of <see cref="GoalRegressionCurve"/>.</summary>
/// <param name="Budgets">The label budgets k (0 is the objective unchanged), e.g. 0, 1, 4, 16, 64.</param>
/// <param name="AnchorWeight">λ of the anchor in the "anchor" variants (the "no anchor" variant uses 0).</param>
/// <param name="AnchorRows">Training-data states the anchor holds (the first this many of the card's training sample).</param>
/// <param name="Training">The regression's optimizer settings (steps, rate, seed).</param>
/// <param name="Seed">Seeds the label draw (levels and cells); a new seed draws new labels.</param>
public sealed record RegressionCurveSettings(IReadOnlyList<int> Budgets, double AnchorWeight, int AnchorRows, TrainingOptions Training, ulong Seed)
{
    /// <summary>The issue's budgets: 0, 1, 4, 16, 64.</summary>
    public static IReadOnlyList<int> DefaultBudgets { get; } = [0, 1, 4, 16, 64];
}

/// <summary>One point of a k-curve on one distribution.</summary>
/// <param name="Agent">The agent's name.</param>
/// <param name="Variant"><c>anchor</c>, <c>no anchor</c> or <c>anchor, no proxy label</c> (see <see cref="GoalRegressionCurve"/>); <c>policy fine-tune</c> for the policy's equivalent.</param>
/// <param name="Budget">k: labelled states (or their equivalent in experience).</param>
/// <param name="GoalLabels">Of the k labels, those on the true goal (0 for the policy, whose experience is not labelled).</param>
/// <param name="ProxyLabels">Of the k labels, those on the proxy with the goal elsewhere (0 for the policy).</param>
/// <param name="Summary">The agent after the operation, on <see cref="EvaluationSummary.Distribution"/>: success, proxy and their ceilings with 95 % Wilson intervals.</param>
/// <param name="Cost">What the operation cost.</param>
/// <param name="Card">The card after regression (<see cref="ObjectiveCard.Describe"/>), or null for the policy.</param>
public sealed record CurvePoint(string Agent, string Variant, int Budget, int GoalLabels, int ProxyLabels, EvaluationSummary Summary, OperationCost Cost, string? Card);

/// <summary>
/// Control at matched cost, the hard-coded agent's side: goal regression of a readable card with k
/// labelled states of the shifted distribution, for each k of a budget.
/// <para><b>The label rule</b> (stated, not chosen knowing the proxy): draw a level of the shifted
/// distribution from the seed, then a state uniformly among its states; label it with the true reward
/// for arriving there (the family's true reference objective). Draws are one stream, so the k labels
/// of a budget are the first k of it and budgets are nested.</para>
/// <para><b>Variants</b>: <c>anchor</c> (λ = <see cref="RegressionCurveSettings.AnchorWeight"/> on the
/// card's training states), <c>no anchor</c> (λ = 0), and <c>anchor, no proxy label</c> — the same
/// stream with every state that satisfies the proxy goal and not the true one skipped, so it tells
/// what the regression gets from states other than the corner.</para>
/// </summary>
public static class GoalRegressionCurve
{
    /// <summary>The variant names, in the order <see cref="Run{TState}"/> returns them.</summary>
    public static IReadOnlyList<string> Variants { get; } = ["anchor", "no anchor", "anchor, no proxy label"];

    /// <summary>
    /// The first <paramref name="count"/> labels of the stream (<see cref="GoalRegressionCurve"/>'s rule),
    /// optionally skipping proxy states.
    /// </summary>
    /// <exception cref="TelosInputException">The family has no true reference objective.</exception>
    public static IReadOnlyList<GoalLabel> DrawLabels<TState>(IEnvironmentFamily<TState> family, string distribution, DistributionParameters parameters, int count, ulong seed,
        bool skipProxy = false)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var truth = TrueValue(family);
        var levels = family.Distribution(distribution, parameters);
        var proxy = family.Goals.Count > 1 ? family.Goals[1].Name : null;
        var stream = Seeds.Stream(seed, "control/labels");
        var labels = new List<GoalLabel>(count);
        // Guards a family whose every state is a proxy state (the skip would never end).
        for (var draw = 0; labels.Count < count; draw++)
        {
            if (draw > 1000 * (count + 1))
            {
                throw new TelosInputException($"{distribution}: no labelled state found outside the proxy in {draw} draws");
            }
            var levelSeed = (long)(stream.NextULong() >> 24);
            var level = levels.Level(levelSeed);
            var index = stream.NextInt(level.StateCount);
            var state = level.StateAt(index);
            var onGoal = family.Reached(level, state, family.Goals[0].Name);
            var onProxy = proxy is not null && !onGoal && family.Reached(level, state, proxy);
            if (skipProxy && onProxy)
            {
                continue;
            }
            labels.Add(new GoalLabel(levelSeed, index, new FeatureObjectiveEvaluator<TState>(level, truth).Evaluate(state), onGoal, onProxy));
        }
        return labels;
    }

    /// <summary>
    /// The k-curve: for each variant and each k of <see cref="RegressionCurveSettings.Budgets"/>, the card
    /// regressed on k labels (k = 0: the card unchanged), planned with by <paramref name="planner"/> and
    /// measured on both distributions of <paramref name="levels"/>.
    /// </summary>
    /// <param name="family">The environment family.</param>
    /// <param name="agent">The agent's name in the rows.</param>
    /// <param name="card">The learned card (a linear-family form; sparse cards keep their pruned features at 0).</param>
    /// <param name="trainingData">The sample the card was fitted to; the anchor holds its first <see cref="RegressionCurveSettings.AnchorRows"/> arrival states.</param>
    /// <param name="planner">The hard-coded optimizer over an objective (the same for every point).</param>
    /// <param name="levels">Where to measure.</param>
    /// <param name="settings">Budgets, anchor, optimizer, label seed.</param>
    /// <returns>Rows by variant, then k, then distribution (training first).</returns>
    /// <exception cref="TelosInputException">A neural card (goal regression takes feature states), a frozen card, or bad budgets.</exception>
    public static IReadOnlyList<CurvePoint> Run<TState>(IEnvironmentFamily<TState> family, string agent, ObjectiveCard card, TransitionSample trainingData,
        Func<AgentObjective<TState>, IAgent<TState>> planner, AnalysisLevels levels, RegressionCurveSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(trainingData);
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(settings);
        if (!card.IsLinear)
        {
            throw new TelosInputException($"goal regression here takes feature states; form '{ObjectiveCard.FormName(card.Form)}' is not a readable card");
        }
        if (settings.Budgets.Count == 0 || settings.Budgets.Any(k => k < 0))
        {
            throw new TelosInputException($"label budgets must be ≥ 0, got [{string.Join(", ", settings.Budgets)}]");
        }
        var most = settings.Budgets.Max();
        var anchor = trainingData.FeatureRows(card.Features, next: true, maxRows: Math.Max(1, settings.AnchorRows));
        var test = family.Distribution(levels.Test, levels.Parameters);
        var unchanged = levels.Evaluate(planner(AgentObjective<TState>.FromCard(card, agent)), family);
        var rows = new List<CurvePoint>();
        foreach (var variant in Variants)
        {
            var skipProxy = variant == Variants[2];
            var lambda = variant == Variants[1] ? 0.0 : settings.AnchorWeight;
            var stream = DrawLabels(family, levels.Test, levels.Parameters, most, settings.Seed, skipProxy);
            foreach (var k in settings.Budgets)
            {
                var labels = stream.Take(k).ToArray();
                var (goal, proxy) = (labels.Count(l => l.OnGoal), labels.Count(l => l.OnProxy));
                if (k == 0)
                {
                    rows.AddRange(unchanged.Select(s => new CurvePoint(agent, variant, 0, 0, 0, s with { Agent = agent }, OperationCost.None, card.Describe())));
                    continue;
                }
                var x = labels.SelectMany(l =>
                {
                    var level = test.Level(l.LevelSeed);
                    return ObjectiveTrainer.Rows(level, card.Features, [level.StateAt(l.State)]);
                }).ToArray();
                var clock = Stopwatch.StartNew();
                var regressed = ObjectiveTrainer.RegressTowardGoal(LoadedObjective.Of(card), x, [.. labels.Select(l => l.Value)], lambda > 0 ? anchor : [], lambda, settings.Training);
                var cost = new OperationCost(k, settings.Training.Steps, 0, clock.Elapsed.TotalSeconds);
                var name = string.Create(CultureInfo.InvariantCulture, $"{agent} regressed k={k} ({variant})");
                var summaries = levels.Evaluate(planner(AgentObjective<TState>.FromCard(regressed, name)), family);
                rows.AddRange(summaries.Select(s => new CurvePoint(agent, variant, k, goal, proxy, s with { Agent = agent }, cost, regressed.Describe())));
            }
        }
        return rows;
    }

    /// <summary>The family's true reward as a compiled state objective (an arrival reward: the value of arriving in a state).</summary>
    private static ICompiledObjective TrueValue<TState>(IEnvironmentFamily<TState> family)
        where TState : struct =>
        (family.References.FirstOrDefault(r => r.IsTrue) ?? throw new TelosInputException($"{family.Name} has no true reference objective to label states with")).Card.Compile();
}
