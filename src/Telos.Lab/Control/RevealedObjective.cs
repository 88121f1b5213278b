using System.Collections.Immutable;
using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning.Exact;
using Telos.Statistics;

namespace Telos.Lab.Control;

/// <summary>How much of a black box's behaviour one objective explains, on held-out levels of one distribution.</summary>
/// <param name="Objective"><c>revealed</c> (the card fitted to the black box), or the name of a reference objective (<c>true</c>, <c>corner</c>) as a baseline.</param>
/// <param name="Distribution">Where it was measured.</param>
/// <param name="SameEnding">Levels where the planner over the objective ended its episode on the cell the black box ended on, out of the held-out levels: the primary measure.</param>
/// <param name="OptimalActions">Mean over held-out levels of the share of the black box's actions (along its own path) that are optimal under the objective, with its 95 % t interval over levels.</param>
/// <param name="Actions">The black box's actions scored by <paramref name="OptimalActions"/>.</param>
public sealed record ExplainedBehaviour(string Objective, string Distribution, Rate SameEnding, MeanInterval OptimalActions, int Actions);

/// <summary>The readable objective a black box reveals, and how much of its behaviour that explains.</summary>
/// <param name="Agent">The black box's name.</param>
/// <param name="Card">The revealed card (MaxEnt IRL over the named features; weights in the features' own units).</param>
/// <param name="Demonstrations">Episodes it was fitted to.</param>
/// <param name="Explained">Per held-out distribution: the revealed card first, then each reference objective as a baseline.</param>
/// <param name="Seconds">Wall-clock seconds of recording and fitting (not of measuring what it explains).</param>
public sealed record RevealedObjectiveResult(string Agent, ObjectiveCard Card, int Demonstrations, IReadOnlyList<ExplainedBehaviour> Explained, double Seconds);

/// <summary>
/// The revealed objective of a black box: record its own greedy episodes, fit a readable linear card to
/// them by maximum-entropy IRL (<see cref="MaxEntIrl"/>) over the named features the hard-coded agents
/// plan with, and measure how much of its behaviour the card explains on levels it was not fitted to.
/// <para><b>Explained behaviour.</b> Primary: the share of held-out levels on which the hard-coded
/// planner over the revealed card ends where the black box ends (same final cell, both run through the
/// one evaluation path) — the question of a shifted task is where an agent goes, and the ending is what
/// success and proxy pursuit are judged on. Finer: the share of the black box's actions, along its own
/// path, that are optimal under the card (exact finite-horizon action values with the fit's γ and H,
/// ties within <see cref="ValueIteration.TieTolerance"/> all optimal), so a route the card cannot explain
/// shows even when the ending agrees. Both are given for the family's reference objectives too (the true
/// reward, the proxy): a revealed card is informative only where it explains more than they do.</para>
/// </summary>
public static class RevealedObjective
{
    /// <summary>Fits the revealed card and measures what it explains.</summary>
    /// <param name="family">The environment family.</param>
    /// <param name="agent">The black box's name.</param>
    /// <param name="blackBox">The agent whose objective is inferred (a policy's greedy lanes; any agent works).</param>
    /// <param name="fitOn">The levels whose episodes it is fitted to (both distributions; pass no seeds for one to leave it out).</param>
    /// <param name="heldOut">The levels it is measured on (other seeds than <paramref name="fitOn"/>).</param>
    /// <param name="planner">The hard-coded optimizer that plans over the revealed card for the ending comparison.</param>
    /// <param name="options">MaxEnt IRL's settings; its γ and H also define "optimal" for the action share.</param>
    /// <param name="features">The named features (default: all of the family's).</param>
    /// <exception cref="TelosInputException">No demonstrations, or an unknown feature.</exception>
    public static RevealedObjectiveResult Fit<TState>(IEnvironmentFamily<TState> family, string agent, IBatchedAgent<TState> blackBox, AnalysisLevels fitOn, AnalysisLevels heldOut,
        Func<AgentObjective<TState>, IAgent<TState>> planner, MaxEntIrlOptions options, IReadOnlyList<string>? features = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(blackBox);
        ArgumentNullException.ThrowIfNull(fitOn);
        ArgumentNullException.ThrowIfNull(heldOut);
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(options);
        var names = features is null ? [.. family.Features.Names] : features.ToImmutableArray();
        foreach (var name in names)
        {
            family.Features.Require(name);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var levels = new List<IEnumerableEnvironment<TState>>();
        var demonstrations = new List<Demonstration>();
        foreach (var (distribution, seeds) in fitOn.Both.Where(d => d.Seeds.Count > 0))
        {
            var (records, episodes) = Episodes(family, blackBox, fitOn, distribution, seeds);
            var source = family.Distribution(distribution, fitOn.Parameters);
            for (var i = 0; i < seeds.Count; i++)
            {
                var level = source.Level(seeds[i]);
                demonstrations.Add(new Demonstration(levels.Count, [.. episodes[i].States.Select(s => level.IndexOf(s))], episodes[i].Halted));
                levels.Add(level);
            }
        }
        var (card, _) = MaxEntIrl.Fit(levels, demonstrations, names, options);
        card = card with { Provenance = card.Provenance with { On = "episodes of " + agent } };
        var seconds = clock.Elapsed.TotalSeconds;

        var objectives = new List<(string Name, ObjectiveCard Card)> { ("revealed", card) };
        objectives.AddRange(family.References.Select(r => (r.Name, r.Card)));
        var explained = new List<ExplainedBehaviour>();
        foreach (var (distribution, seeds) in heldOut.Both.Where(d => d.Seeds.Count > 0))
        {
            var (boxRecords, boxEpisodes) = Episodes(family, blackBox, heldOut, distribution, seeds);
            var source = family.Distribution(distribution, heldOut.Parameters);
            var heldOutLevels = seeds.Select(source.Level).ToArray();
            foreach (var (name, objective) in objectives)
            {
                var planned = AgentEvaluation.Evaluate(planner(AgentObjective<TState>.FromCard(objective, name)), family, distribution, heldOut.Parameters, seeds, heldOut.EvaluationSeed).Records;
                var same = planned.Zip(boxRecords).Count(p => SameEnding(p.First, p.Second));
                var shares = new List<double>();
                var actions = 0;
                for (var i = 0; i < heldOutLevels.Length; i++)
                {
                    var episode = boxEpisodes[i];
                    if (episode.Steps == 0)
                    {
                        continue;
                    }
                    shares.Add(OptimalShare(heldOutLevels[i], objective, episode, options));
                    actions += episode.Steps;
                }
                explained.Add(new ExplainedBehaviour(name, distribution, new Rate(same, seeds.Count), shares.Count == 0 ? new MeanInterval(0, 0, 0, 0) : MeanInterval.Of(shares), actions));
            }
        }
        return new RevealedObjectiveResult(agent, card, demonstrations.Count, explained, seconds);
    }

    /// <summary>The share of <paramref name="episode"/>'s actions that are optimal under <paramref name="card"/> with <paramref name="options"/>' horizon to go (a stationary notion: the same H at every step); an action the level does not allow is never optimal.</summary>
    public static double OptimalShare<TState>(IEnumerableEnvironment<TState> level, ObjectiveCard card, AgentEpisode<TState> episode, MaxEntIrlOptions options)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(level);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(episode);
        ArgumentNullException.ThrowIfNull(options);
        var mdp = TabularMdp.FromEnvironment(level);
        var reward = new double[level.StateCount];
        var evaluator = new FeatureObjectiveEvaluator<TState>(level, card.Compile());
        for (var s = 0; s < reward.Length; s++)
        {
            reward[s] = evaluator.Evaluate(level.StateAt(s));
        }
        var q = MaxEntIrl.OptimalActionValues(mdp, reward, options.Discount, options.Horizon);
        var a = mdp.ActionCount;
        var last = (options.Horizon - 1) * mdp.StateCount * a;
        var optimal = 0;
        for (var t = 0; t < episode.Steps; t++)
        {
            var row = q.AsSpan(last + level.IndexOf(episode.States[t]) * a, a);
            var best = double.NegativeInfinity;
            foreach (var x in row)
            {
                best = Math.Max(best, x);
            }
            var value = row[episode.Actions[t]];
            if (!double.IsNegativeInfinity(value) && value >= best - ValueIteration.TieTolerance * Math.Max(1.0, Math.Abs(best)))
            {
                optimal++;
            }
        }
        return optimal / (double)episode.Steps;
    }

    private static (IReadOnlyList<EpisodeRecord> Records, IReadOnlyList<AgentEpisode<TState>> Episodes) Episodes<TState>(IEnvironmentFamily<TState> family, IBatchedAgent<TState> agent,
        AnalysisLevels levels, string distribution, IReadOnlyList<long> seeds)
        where TState : struct
    {
        var result = AgentEvaluation.Evaluate(agent, family, distribution, levels.Parameters, seeds, levels.EvaluationSeed, new EvaluationOptions(KeepEpisodes: true));
        return (result.Records, result.Episodes!);
    }

    /// <summary>Both episodes ended on the same cell (or, for a family without cells, on the same named goal).</summary>
    private static bool SameEnding(EpisodeRecord a, EpisodeRecord b) =>
        a.EndX is not null ? a.EndX == b.EndX && a.EndY == b.EndY : a.Ending == b.Ending;
}
