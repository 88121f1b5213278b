using Telos.Environments;
using Telos.Objectives;
using Telos.Planning.Search;

namespace Telos.Planning;

/// <summary>
/// Monte-Carlo tree search as a planner: the batched MCTS engine (<see cref="BatchedSearch{TEmbedding}"/>)
/// over <see cref="ObjectiveSearchModel{TState}"/> — the environment's step as the recurrent model,
/// the objective as reward and leaf value, plus the halt action. <c>mcts</c> is PUCT acting on the
/// most visited root action without Dirichlet noise (an agent, not a self-play trainer);
/// <c>gumbel</c> is Gumbel MuZero's root with sequential halving.
/// </summary>
/// <remarks>
/// <para>The action is the search's (most visited for PUCT/UCT, Gumbel's rule for Gumbel) with one
/// stopping rule on top: the agent halts iff halting was tried and no visited move has a higher Q.</para>
/// <para>Not thread-safe: the search and model buffers are reused across calls (allocated again only when
/// the batch, action count, simulations or discount change). The agent decides again after every step.</para>
/// </remarks>
public sealed class MctsPlanner<TState> : IPlanner<TState>
    where TState : struct
{
    private readonly SearchPolicy _policy;
    private BatchedSearch<TState>? _search;
    private ObjectiveSearchModel<TState>? _model;
    private float[] _logits = [];
    private float[] _values = [];
    private bool[] _valid = [];

    /// <param name="name">CLI name.</param>
    /// <param name="policy">The engine's selection rule.</param>
    public MctsPlanner(string name, SearchPolicy policy)
    {
        Name = name;
        _policy = policy;
    }

    /// <summary>PUCT (pb_c_init 1.25, pb_c_base 19652), greedy on visits, no root noise.</summary>
    public static MctsPlanner<TState> Puct() => new("mcts", Planners.SearchPolicy("mcts"));

    /// <summary>UCT (c = √2 over min-max normalised Q), greedy on visits, the objective at the leaf.</summary>
    public static MctsPlanner<TState> Uct() => new("uct", Planners.SearchPolicy("uct"));

    /// <summary>Gumbel MuZero root (16 considered actions, completed-Q), seeded Gumbel noise.</summary>
    public static MctsPlanner<TState> Gumbel() => new("gumbel", Planners.SearchPolicy("gumbel"));

    public string Name { get; }

    /// <summary>The engine's selection rule and hyperparameters.</summary>
    public SearchPolicy Policy => _policy;

    /// <summary>The statistics of the last search (timing, leaf-evaluation share).</summary>
    public SearchStatistics LastStatistics { get; private set; }

    /// <inheritdoc/>
    public PlanDecision<TState> Decide(in TState state, IEnvironment<TState> model, IStateEvaluator<TState> objective, PlanBudget budget) =>
        DecideBatch([state], [model], [objective], budget)[0];

    /// <summary>
    /// Searches B roots at once: one model call (and one objective call per evaluator) per simulation
    /// wave. Root i draws its randomness from <c>SearchSeeds.ForRoot(budget.Seed, firstRootIndex + i)</c>,
    /// so a root searched alone with the matching index decides exactly as in the batch.
    /// </summary>
    /// <param name="states">[B] current states.</param>
    /// <param name="models">[B] each root's level.</param>
    /// <param name="objectives">[B] each root's objective (pass the same instance to share one call per wave).</param>
    /// <param name="budget">Simulations, discount, seed.</param>
    /// <param name="firstRootIndex">Index of root 0 in a larger logical batch.</param>
    public PlanDecision<TState>[] DecideBatch(ReadOnlySpan<TState> states, IReadOnlyList<IEnvironment<TState>> models,
        IReadOnlyList<IStateEvaluator<TState>> objectives, PlanBudget budget, int firstRootIndex = 0)
    {
        budget.Validate();
        var n = states.Length;
        if (n == 0 || models.Count != n || objectives.Count != n)
        {
            throw new ArgumentException($"need B ≥ 1 states with one model and one objective each; got {n}, {models.Count}, {objectives.Count}");
        }
        var search = Prepare(n, models[0].ActionCount, budget);
        var model = _model!;
        for (var i = 0; i < n; i++)
        {
            model.Bind(i, models[i], objectives[i]);
        }
        var a = model.ActionCount;
        model.WriteRoots(states, _logits.AsSpan(0, n * a), _values.AsSpan(0, n), _valid.AsSpan(0, n * a));
        var root = new SearchRoot<TState>(_logits.AsSpan(0, n * a), _values.AsSpan(0, n), states, _valid.AsSpan(0, n * a));
        var result = search.Run(root, model, budget.Seed, firstRootIndex);
        LastStatistics = result.Statistics;

        var decisions = new PlanDecision<TState>[n];
        for (var b = 0; b < n; b++)
        {
            decisions[b] = Summarize(result, b, states[b], model.HaltAction, budget.KeepTree);
        }
        return decisions;
    }

    private BatchedSearch<TState> Prepare(int n, int environmentActions, PlanBudget budget)
    {
        var a = environmentActions + 1;
        if (_search is null || _search.BatchSize < n || _search.ActionCount != a || _search.Simulations != budget.Simulations
            || _model!.Discount != (float)budget.Discount)
        {
            _search = new BatchedSearch<TState>(n, a, budget.Simulations, _policy);
            _model = new ObjectiveSearchModel<TState>(n, environmentActions, budget.Discount);
            _logits = new float[n * a];
            _values = new float[n];
            _valid = new bool[n * a];
        }
        return _search;
    }

    private PlanDecision<TState> Summarize(SearchResult<TState> result, int b, TState state, int halt, bool keepTree)
    {
        var tree = result.Tree;
        var a = result.ActionCount;
        var chosen = StoppingRule(tree, b, result.Actions[b], halt);

        // Principal variation: the chosen action, then the most visited child, until a leaf or a halt.
        var plan = new List<TState> { state };
        var actions = new List<int>();
        var node = SearchTree.RootIndex;
        var action = chosen;
        while (action != halt)
        {
            var child = tree.ChildIndices(b, node)[action];
            if (child == SearchTree.Unvisited)
            {
                break;
            }
            actions.Add(action);
            plan.Add(tree.Embedding(b, child));
            node = child;
            action = MostVisited(tree.ChildVisits(b, node), tree.ValidActions(b, node));
            if (action < 0)
            {
                break;
            }
        }

        var visits = result.VisitCountsOf(b);
        var total = 0;
        foreach (var v in visits)
        {
            total += v;
        }
        var distribution = new float[a];
        for (var i = 0; i < a; i++)
        {
            distribution[i] = total > 0 ? visits[i] / (float)total : 0f;
        }
        SearchTreeSnapshot? snapshot = null;
        if (keepTree)
        {
            var nodes = new SearchTreeNode[tree.NodeCount(b)];
            for (var i = 0; i < nodes.Length; i++)
            {
                var parent = tree.Parent(b, i);
                var from = tree.ActionFromParent(b, i);
                var reward = parent >= 0 ? tree.ChildRewards(b, parent)[from] : 0f;
                nodes[i] = new SearchTreeNode(i, parent, from, tree.NodeVisits(b, i), tree.NodeValue(b, i), reward, tree.Embedding(b, i).ToString() ?? "");
            }
            snapshot = new SearchTreeSnapshot(Name, a, nodes);
        }
        return new PlanDecision<TState>(Name, chosen == halt ? PlanDecision<TState>.Halt : chosen, plan.ToArray(), actions.ToArray(),
            result.RootValues[b], complete: false, distribution, result.ActionWeightsOf(b).ToArray(), snapshot);
    }

    /// <summary>
    /// Halting is decided by value, moving by the search: the agent halts iff no visited move's Q
    /// beats Q(halt) (every backed-up Q is the mean of achievable returns, so a move with a higher Q
    /// is a known way to do better than staying). Otherwise it takes the search's action, or, when
    /// the search chose to halt, the most visited of the moves that beat halting.
    /// </summary>
    private static int StoppingRule(SearchTree tree, int b, int searched, int halt)
    {
        var visits = tree.ChildVisits(b, SearchTree.RootIndex);
        if (visits[halt] == 0)
        {
            return searched; // halting was never tried: nothing to compare
        }
        var stay = tree.QValue(b, SearchTree.RootIndex, halt);
        var slack = 1e-6f * MathF.Max(1f, MathF.Abs(stay));
        var best = -1;
        for (var action = 0; action < halt; action++)
        {
            if (visits[action] > 0 && tree.QValue(b, SearchTree.RootIndex, action) > stay + slack
                && (best < 0 || visits[action] > visits[best]))
            {
                best = action;
            }
        }
        if (best < 0)
        {
            return halt;
        }
        return searched == halt ? best : searched;
    }

    private static int MostVisited(ReadOnlySpan<int> visits, ReadOnlySpan<bool> valid)
    {
        var best = -1;
        for (var i = 0; i < visits.Length; i++)
        {
            if (valid[i] && visits[i] > 0 && (best < 0 || visits[i] > visits[best]))
            {
                best = i;
            }
        }
        return best;
    }
}
