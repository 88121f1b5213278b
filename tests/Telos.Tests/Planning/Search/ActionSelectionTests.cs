using Telos.Planning.Search;

namespace Telos.Tests.Planning.Search;

public sealed class ActionSelectionTests
{
    [Fact]
    public void UctScoresAVisitedChildByTheHandComputedFormula()
    {
        // Q̃ 0.5, n 2, N 8, c √2: 0.5 + √2·√(ln 8 / 2) = 0.5 + √(ln 8) = 1.9420269.
        Assert.Equal(1.9420269f, ActionSelection.UctScore(0.5f, 2, legal: true, MathF.Log(8f), MathF.Sqrt(2f)), 5);
        // c = 0 leaves Q̃; an unvisited legal child comes first; an illegal one never, visited or not.
        Assert.Equal(0.5f, ActionSelection.UctScore(0.5f, 2, legal: true, MathF.Log(8f), 0f));
        Assert.Equal(float.PositiveInfinity, ActionSelection.UctScore(0.5f, 0, legal: true, MathF.Log(8f), MathF.Sqrt(2f)));
        Assert.Equal(float.NegativeInfinity, ActionSelection.UctScore(0.5f, 2, legal: false, MathF.Log(8f), MathF.Sqrt(2f)));
        Assert.Equal(float.NegativeInfinity, ActionSelection.UctScore(0.5f, 0, legal: false, MathF.Log(8f), MathF.Sqrt(2f)));
    }

    [Fact]
    public void PuctScoresAChildByTheHandComputedFormula()
    {
        // N 4, MuZero's constants: √4·(1.25 + ln((4 + 19652 + 1)/19652)) = 2.5005088.
        Assert.Equal(2.5005088f, ActionSelection.PuctExploration(4, 1.25f, 19652f), 5);
        Assert.Equal(0f, ActionSelection.PuctExploration(0, 1.25f, 19652f));
        // Q̃ 0.25, P 0.5, n 1, E 2.5: 0.25 + 2.5·0.5/2 = 0.875; an unvisited child divides by 1.
        Assert.Equal(0.875f, ActionSelection.PuctScore(0.25f, 0.5f, 1, 2.5f), 6);
        Assert.Equal(1.5f, ActionSelection.PuctScore(0.25f, 0.5f, 0, 2.5f), 6);
        Assert.Equal(float.NegativeInfinity, ActionSelection.PuctScore(0.25f, float.NegativeInfinity, 1, 2.5f));
    }

    [Fact]
    public void GumbelScoresRootAndInteriorChildrenByTheHandComputedFormulas()
    {
        // Root: g + logit + σ(q̂) = 0.3 − 1 + 2 = 1.3, floored at mctx's low logit (an illegal logit is −∞).
        Assert.Equal(1.3f, ActionSelection.GumbelRootScore(0.3f, -1f, 2f), 6);
        Assert.Equal(ActionSelection.LowLogit, ActionSelection.GumbelRootScore(0.3f, float.NegativeInfinity, 2f));
        // Interior: π' 0.6, n 2, Σn 3: 0.6 − 2/(1 + 3) = 0.1.
        Assert.Equal(0.1f, ActionSelection.GumbelInteriorScore(0.6f, 2, 1f / 4), 6);
        Assert.Equal(0.6f, ActionSelection.GumbelInteriorScore(0.6f, 0, 1f / 4), 6);
    }

    public static TheoryData<string, int> Paths => new()
    {
        // PUCT with parent-and-siblings: one masked 512-bit vector (A ≤ 16 where the CPU has it), else looped vectors and a scalar tail.
        { "puct", 5 }, { "puct", 16 }, { "puct", 37 },
        // Any other transform goes through the IQTransform interface.
        { "puct-minmax", 5 },
        { "uct", 5 }, { "uct", 37 },
        // Gumbel interior selection with completed-by-mix runs inlined; wrapped, through the interface.
        { "gumbel", 5 }, { "gumbel", 16 }, { "gumbel-wrapped", 5 },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryExpansionFollowsTheReferenceRule(string path, int actions)
    {
        // At each model call every root has descended and nothing of this wave is backed up yet, so the
        // tree is the one selection read. From each root the check walks every path the reference rule
        // allows (all exact maxima for UCT/PUCT, whose ties are drawn at random; the first for Gumbel)
        // and requires the row's (node, action) to end one of them.
        SearchPolicy policy = path switch
        {
            "puct" => new PuctPolicy(),
            "puct-minmax" => new PuctPolicy { QTransform = new MinMaxQTransform(-2f, 2f) },
            "uct" => new UctPolicy(),
            "gumbel" => new GumbelPolicy { GumbelScale = 0f, MaxConsideredActions = 4 },
            _ => new GumbelPolicy { GumbelScale = 0f, MaxConsideredActions = 4, QTransform = new DelegatingTransform(new CompletedByMixValueQTransform()) },
        };
        const int b = 8, n = 48;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, actions, salt: 5);
        var search = new BatchedSearch<ulong>(b, actions, n, policy);
        var model = new ReferenceCheckingModel(search.Tree, policy, n, actions);
        search.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), model, seed: 4);

        Assert.Empty(model.Mismatches);
        Assert.True(model.Rows > b * n / 4, $"only {model.Rows} rows checked");
        Assert.True(model.InteriorRows > b * 4, $"only {model.InteriorRows} rows below the root: interior selection barely ran");
    }

    /// <summary>Checks each row against <see cref="ActionSelection"/> on the tree, then answers as <see cref="RandomTreeModel"/>.</summary>
    private sealed class ReferenceCheckingModel(SearchTree<ulong> tree, SearchPolicy policy, int simulations, int actionCount) : IRecurrentModel<ulong>
    {
        private readonly RandomTreeModel _inner = new(actionCount, discount: -1f);

        public List<string> Mismatches { get; } = [];

        public int Rows { get; private set; }

        public int InteriorRows { get; private set; }

        public void Recurrent(in RecurrentBatch<ulong> batch)
        {
            for (var row = 0; row < batch.Count; row++)
            {
                var root = batch.Roots[row];
                var endpoints = new List<(int Node, int Action)>();
                Reach(root, SearchTree.RootIndex, 0, endpoints);
                var (embedding, action) = (batch.Embeddings[row], batch.Actions[row]);
                var match = endpoints.FindIndex(e => tree.Embedding(root, e.Node) == embedding && e.Action == action);
                if (match < 0)
                {
                    Mismatches.Add($"root {root}: expanded action {action} below {embedding:x}; the rule allows [{string.Join(", ", endpoints)}]");
                }
                else
                {
                    InteriorRows += endpoints[match].Node != SearchTree.RootIndex ? 1 : 0;
                }
                Rows++;
            }
            _inner.Recurrent(batch);
        }

        private void Reach(int root, int node, int depth, List<(int Node, int Action)> endpoints)
        {
            var children = tree.ChildIndices(root, node);
            foreach (var action in Choices(root, node, depth))
            {
                if (children[action] == SearchTree.Unvisited)
                {
                    endpoints.Add((node, action));
                }
                else
                {
                    Reach(root, children[action], depth + 1, endpoints);
                }
            }
        }

        /// <summary>The actions the reference rule may select at the node (none when no action is legal).</summary>
        private List<int> Choices(int root, int node, int depth)
        {
            var a = actionCount;
            var visits = tree.ChildVisits(root, node);
            var valid = tree.ValidActions(root, node);
            var logits = tree.ChildPriorLogits(root, node);
            var q = new float[a];
            policy.QTransform.Transform(tree, root, node, q);
            var scores = new float[a];
            var firstMaximumOnly = policy is GumbelPolicy;
            switch (policy)
            {
                case UctPolicy uct:
                    var logN = MathF.Log(tree.NodeVisits(root, node));
                    for (var i = 0; i < a; i++)
                    {
                        scores[i] = ActionSelection.UctScore(q[i], visits[i], valid[i], logN, uct.Exploration);
                    }
                    break;
                case PuctPolicy puct:
                    var priors = tree.ChildPriorProbabilities(root, node);
                    var explore = ActionSelection.PuctExploration(tree.NodeVisits(root, node), puct.PbCInit, puct.PbCBase);
                    for (var i = 0; i < a; i++)
                    {
                        scores[i] = ActionSelection.PuctScore(q[i], valid[i] ? priors[i] : float.NegativeInfinity, visits[i], explore);
                    }
                    break;
                case GumbelPolicy gumbel when depth == 0:
                    // Sequential halving: only actions with the scheduled visit count for this simulation compete (g = 0).
                    var considered = Math.Min(gumbel.MaxConsideredActions, valid.Count(true));
                    var visitSum = Sum(visits);
                    var consideredVisit = SequentialHalving.ConsideredVisits(considered, simulations)[Math.Min(visitSum, simulations - 1)];
                    for (var i = 0; i < a; i++)
                    {
                        scores[i] = valid[i] && visits[i] == consideredVisit ? ActionSelection.GumbelRootScore(0f, logits[i], q[i]) : float.NegativeInfinity;
                    }
                    break;
                default:
                    // π' = softmax(logits + σ(q̂)) over legal actions.
                    var improved = new float[a];
                    var max = float.NegativeInfinity;
                    for (var i = 0; i < a; i++)
                    {
                        improved[i] = valid[i] ? q[i] + logits[i] : float.NegativeInfinity;
                        max = MathF.Max(max, improved[i]);
                    }
                    var sum = 0f;
                    for (var i = 0; i < a; i++)
                    {
                        improved[i] = valid[i] ? MathF.Exp(improved[i] - max) : 0f;
                        sum += improved[i];
                    }
                    var inverseVisits = 1f / (1 + Sum(visits));
                    for (var i = 0; i < a; i++)
                    {
                        scores[i] = valid[i] ? ActionSelection.GumbelInteriorScore(improved[i] * (1f / sum), visits[i], inverseVisits) : float.NegativeInfinity;
                    }
                    break;
            }
            var choices = new List<int>();
            if (!valid.Contains(true))
            {
                return choices;
            }
            var best = scores.Max();
            for (var i = 0; i < a; i++)
            {
                if (scores[i] == best && (choices.Count == 0 || !firstMaximumOnly))
                {
                    choices.Add(i);
                }
            }
            return choices;
        }

        private static int Sum(ReadOnlySpan<int> values)
        {
            var sum = 0;
            foreach (var v in values)
            {
                sum += v;
            }
            return sum;
        }
    }
}
