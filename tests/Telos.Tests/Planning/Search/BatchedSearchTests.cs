using Telos.Planning.Search;

namespace Telos.Tests.Planning.Search;

public sealed class BatchedSearchTests
{
    public static TheoryData<string> Policies => new() { "uct", "puct", "gumbel" };

    private static SearchPolicy Policy(string name) => name switch
    {
        "uct" => new UctPolicy(),
        "puct" => new PuctPolicy(),
        _ => new GumbelPolicy(),
    };

    [Theory]
    [MemberData(nameof(Policies))]
    public void RootVisitsSumToBudget(string policy)
    {
        const int b = 6, a = 5, n = 37;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, a, salt: 11);
        foreach (var maxDepth in new int?[] { null, 2 })
        {
            var search = new BatchedSearch<ulong>(b, a, n, Policy(policy), maxDepth);
            var model = new RandomTreeModel(a);
            var result = search.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), model, seed: 3);
            for (var root = 0; root < b; root++)
            {
                var visits = result.VisitCountsOf(root);
                var sum = 0;
                foreach (var v in visits)
                {
                    sum += v;
                }
                Assert.Equal(n, sum);
                Assert.Equal(n + 1, result.Tree.NodeVisits(root, SearchTree.RootIndex));
                Assert.Equal(1f, Sum(result.ActionWeightsOf(root)), 4);
            }
            Assert.InRange(model.Calls, 1, n); // a wave where every root hits a terminal node calls nothing
        }
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void MaskedActionsAreNeverSelectedAtAnyDepth(string policy)
    {
        const int b = 8, a = 6, n = 200;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, a, salt: 5);
        var search = new BatchedSearch<ulong>(b, a, n, Policy(policy));
        // The model throws on an illegal expansion; the walk below checks every stored edge as well.
        var result = search.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(a, discount: -1f), seed: 9);
        var tree = result.Tree;
        var interiorEdges = 0;
        Span<bool> legal = stackalloc bool[a];
        for (var root = 0; root < b; root++)
        {
            Assert.True(valid[root * a + result.Actions[root]], $"root {root} chose illegal action {result.Actions[root]}");
            for (var node = 0; node < tree.NodeCount(root); node++)
            {
                RandomTreeModel.Legal(tree.Embedding(root, node), legal);
                Assert.True(legal.SequenceEqual(tree.ValidActions(root, node)));
                var children = tree.ChildIndices(root, node);
                var visits = tree.ChildVisits(root, node);
                for (var action = 0; action < a; action++)
                {
                    if (!legal[action])
                    {
                        Assert.Equal(SearchTree.Unvisited, children[action]);
                        Assert.Equal(0, visits[action]);
                        Assert.Equal(0f, tree.ChildPriorProbabilities(root, node)[action]);
                        if (node == SearchTree.RootIndex)
                        {
                            Assert.Equal(0f, result.ActionWeightsOf(root)[action]);
                        }
                    }
                    else if (node != 0 && visits[action] > 0)
                    {
                        interiorEdges++;
                    }
                }
            }
        }
        Assert.True(interiorEdges > 100, $"only {interiorEdges} interior edges were visited: the test would prove little");
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void BatchedEqualsUnbatched(string policy)
    {
        const int b = 5, a = 4, n = 48;
        const ulong seed = 1234;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, a, salt: 77);
        var batched = new BatchedSearch<ulong>(b, a, n, Policy(policy));
        var result = batched.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(a, rewardNoise: 0.3f), seed);
        var actions = result.Actions.ToArray();
        var visits = result.VisitCounts.ToArray();
        var weights = result.ActionWeights.ToArray();
        var rootValues = result.RootValues.ToArray();

        var single = new BatchedSearch<ulong>(1, a, n, Policy(policy));
        for (var root = 0; root < b; root++)
        {
            var one = single.Run(
                new SearchRoot<ulong>(logits.AsSpan(root * a, a), values.AsSpan(root, 1), embeddings.AsSpan(root, 1), valid.AsSpan(root * a, a)),
                new RandomTreeModel(a, rewardNoise: 0.3f), seed, firstRootIndex: root);
            Assert.Equal(actions[root], one.Actions[0]);
            Assert.Equal(visits.AsSpan(root * a, a).ToArray(), one.VisitCounts.ToArray());
            Assert.Equal(weights.AsSpan(root * a, a).ToArray(), one.ActionWeights.ToArray());
            Assert.Equal(rootValues[root], one.RootValues[0]);
        }

        // Same seed twice: same numbers; another seed: different ones somewhere.
        var again = batched.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(a, rewardNoise: 0.3f), seed);
        Assert.Equal(visits, again.VisitCounts.ToArray());
        Assert.Equal(rootValues, again.RootValues.ToArray());
        var other = batched.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(a, rewardNoise: 0.3f), seed + 1);
        Assert.NotEqual(rootValues, other.RootValues.ToArray());
    }

    [Fact]
    public void PuctConvergesToTheBestArmOfAStochasticBandit()
    {
        float[] means = [0.2f, 0.5f, 0.7f, 0.4f, 0.1f];
        const int best = 2, roots = 24;
        var model = new StochasticBanditModel(means, noise: 0.5f);
        var bestShare = new List<double>();
        var bestChosen = new List<int>();
        foreach (var budget in new[] { 8, 64, 1024 })
        {
            var search = new BatchedSearch<int>(roots, means.Length, budget, new PuctPolicy { Temperature = 0 });
            var embeddings = Enumerable.Repeat(-1, roots).ToArray();
            var result = search.Run(new SearchRoot<int>(new float[roots * means.Length], new float[roots], embeddings), model, seed: 42);
            var share = 0.0;
            var chosen = 0;
            for (var root = 0; root < roots; root++)
            {
                share += result.VisitCountsOf(root)[best] / (double)budget / roots;
                chosen += result.Actions[root] == best ? 1 : 0;
            }
            bestShare.Add(share);
            bestChosen.Add(chosen);
        }
        Assert.True(bestShare[0] < bestShare[1] && bestShare[1] < bestShare[2], $"best-arm visit share by budget: {string.Join(", ", bestShare)}");
        Assert.True(bestShare[2] > 0.6, $"best-arm share at 1024 simulations: {bestShare[2]}");
        Assert.True(bestChosen[2] >= roots - 1, $"best arm chosen at 1024 simulations by {bestChosen[2]}/{roots} roots");
    }

    [Fact]
    public void GumbelPicksTheBestArmAndItsTargetImprovesOnThePrior()
    {
        const int a = 10, roots = 16;
        var rng = new Telos.Randomness.Rng(7);
        // Rewards 0, 1/9, ..., 1 in a shuffled order: the best arm leads the next by 1/9.
        var rewards = new float[a];
        for (var i = 0; i < a; i++)
        {
            rewards[i] = i / (a - 1f);
        }
        for (var i = a - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (rewards[i], rewards[j]) = (rewards[j], rewards[i]);
        }
        var best = Array.IndexOf(rewards, rewards.Max());
        var logits = new float[roots * a];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)rng.NextGaussian();
        }
        // The final choice is argmax g + logits + σ·q̂ with σ = (50 + max N)·0.1, so the budget must make
        // σ/9 dominate the Gumbel-plus-logit spread: 2000 simulations give σ ≈ 90.
        var search = new BatchedSearch<int>(roots, a, 2000, new GumbelPolicy());
        var result = search.Run(new SearchRoot<int>(logits, new float[roots], new int[roots]), new DeterministicBanditModel(rewards), seed: 5);
        for (var root = 0; root < roots; root++)
        {
            Assert.Equal(best, result.Actions[root]);
            var prior = Softmax(logits.AsSpan(root * a, a));
            var target = result.ActionWeightsOf(root);
            var underPrior = 0.0;
            var underTarget = 0.0;
            for (var i = 0; i < a; i++)
            {
                underPrior += prior[i] * rewards[i];
                underTarget += target[i] * rewards[i];
            }
            Assert.True(underTarget >= underPrior, $"root {root}: E_target[r] = {underTarget} < E_prior[r] = {underPrior}");
        }
    }

    [Fact]
    public void GumbelCompletedQTargetMatchesHandComputedThreeArmCase()
    {
        // Logits [0, 0, ln 2] → prior [1/4, 1/4, 1/2]; root value 0; arm rewards [1, 0.2, 0.5], each ends the episode.
        // No Gumbel noise, 2 simulations: the schedule is [0, 0], so the search visits arm 2 (largest logit),
        // then arm 0 (first among the unvisited ties).
        // Mixed value = (0 + 2·(¼·1 + ½·0.5)/(¼ + ½))/3 = 4/9; completed Q = [1, 4/9, 0.5];
        // rescaled = [1, 0, 0.1]; σ = (50 + 1)·0.1 = 5.1 → logits + σ·q = [5.1, 0, ln 2 + 0.51].
        float[] logits = [0f, 0f, MathF.Log(2f)];
        var search = new BatchedSearch<int>(1, 3, 2, new GumbelPolicy { GumbelScale = 0f });
        var result = search.Run(new SearchRoot<int>(logits, [0f], [0]), new DeterministicBanditModel([1f, 0.2f, 0.5f]), seed: 0);

        Assert.Equal([1, 0, 1], result.VisitCounts.ToArray());
        var e0 = Math.Exp(5.1);
        var e1 = Math.Exp(0.0);
        var e2 = 2 * Math.Exp(0.51);
        var z = e0 + e1 + e2;
        var target = result.ActionWeights;
        Assert.Equal(e0 / z, target[0], 5);
        Assert.Equal(e1 / z, target[1], 5);
        Assert.Equal(e2 / z, target[2], 5);
        Assert.Equal(0, result.Actions[0]);
        Assert.Equal(0.5f, result.RootValues[0], 5); // mean of 0 (root), 1 and 0.5

        Span<float> q = stackalloc float[3];
        new CompletedByMixValueQTransform().Transform(result.Tree, 0, SearchTree.RootIndex, q);
        Assert.Equal(5.1f, q[0], 4);
        Assert.Equal(0f, q[1], 4);
        Assert.Equal(0.51f, q[2], 4);
    }

    [Fact]
    public void QTransformsNormaliseAsMctxDoes()
    {
        // Same tree: visits [1, 0, 1], Q = [1, ·, 0.5], root value 0.5 after the two backups.
        var search = new BatchedSearch<int>(1, 3, 2, new GumbelPolicy { GumbelScale = 0f });
        var result = search.Run(new SearchRoot<int>([0f, 0f, MathF.Log(2f)], [0f], [0]), new DeterministicBanditModel([1f, 0.2f, 0.5f]), seed: 0);
        Span<float> q = stackalloc float[3];
        new ParentAndSiblingsQTransform().Transform(result.Tree, 0, 0, q);
        // min = min(0.5, 0.5) = 0.5, max = 1: visited [1, 0]; unvisited 0.
        Assert.Equal([1f, 0f, 0f], q.ToArray());
        new MinMaxQTransform(-1f, 1f).Transform(result.Tree, 0, 0, q);
        Assert.Equal([1f, 0f, 0.75f], q.ToArray());
    }

    [Theory]
    [InlineData("uct", "rollout", 5000)]
    [InlineData("puct", "rollout", 10000)]
    [InlineData("uct", "exact", 400)]
    [InlineData("puct", "exact", 64)]
    [InlineData("gumbel", "exact", 64)]
    public void TwoPlayerDiscountFindsTheWinningNimMove(string policy, string leaf, int simulations)
    {
        // Heaps (1, 2, 4) have nim-sum 7; the only move to nim-sum 0 takes 1 from the heap of 4: action 2·4 + 0.
        // "rollout" leaves are a random playout's signed return, so the win must be found through many
        // alternating plies; "exact" leaves know the value of the position for the player to move.
        // (Gumbel with uniform priors and rollout leaves under-explores interior nodes, as in mctx, so it gets the exact leaf.)
        var nim = new NimEnvironment();
        var roots = new[] { nim.Initial };
        var logits = new float[nim.ActionCount];
        var values = new float[1];
        var valid = new bool[nim.ActionCount];
        EnvironmentModel<NimState> Model(bool twoPlayer) => leaf == "rollout"
            ? new EnvironmentModel<NimState>(nim, evaluator: null, maxBatch: 1, discount: 1f, twoPlayer: twoPlayer, rolloutDepth: 16)
            : new EnvironmentModel<NimState>(nim, new NimSumEvaluator(), maxBatch: 1, discount: 1f, twoPlayer: twoPlayer);
        var model = Model(twoPlayer: true);
        model.WriteRoots(roots, logits, values, valid);
        // Evaluation play: PUCT acts greedily and without root noise.
        SearchPolicy searchPolicy = policy == "puct" ? new PuctPolicy { Temperature = 0, DirichletFraction = 0 } : Policy(policy);
        var search = new BatchedSearch<NimState>(1, nim.ActionCount, simulations, searchPolicy);
        for (ulong seed = 0; seed < 8; seed++)
        {
            var result = search.Run(new SearchRoot<NimState>(logits, values, roots, valid), model, seed);
            Assert.Equal(8, result.Actions[0]);
            // Mean backups mix both players' replies, so Q itself need not be positive yet; it must lead.
            var q = result.Tree.QValue(0, SearchTree.RootIndex, 8);
            for (var action = 0; action < nim.ActionCount; action++)
            {
                if (action != 8 && result.VisitCounts[action] > 0)
                {
                    Assert.True(result.Tree.QValue(0, SearchTree.RootIndex, action) < q, $"Q({action}) ≥ Q(8) = {q}");
                }
            }
        }

        // Without the sign flip the same search misjudges the position (the opponent's wins count as ours).
        var wrong = Model(twoPlayer: false);
        var misjudged = 0;
        for (ulong seed = 0; seed < 3; seed++)
        {
            misjudged += search.Run(new SearchRoot<NimState>(logits, values, roots, valid), wrong, seed).Actions[0] != 8 ? 1 : 0;
        }
        Assert.True(misjudged > 0, "discount +1 found the winning move every time: the test does not exercise the sign");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(20)]
    [InlineData(37)]
    public void VectorisedPuctEqualsTheGenericPathForFewAndManyActions(int actions)
    {
        // A ≤ 16 selects in one masked 512-bit vector (loads reach past the last node's block for
        // small A); A > 16 takes the looped 512/256-bit path with a scalar tail.
        VectorisedPuctEqualsTheGenericPath(actions);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(11)]
    [InlineData(16)]
    public void VectorisedPuctEqualsTheGenericPath(int actions)
    {
        // PUCT with the parent-and-siblings transform takes a fused, vectorised path; hiding the
        // transform's type forces the generic one. Same seeds must give identical numbers.
        const int b = 4, n = 64;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, actions, salt: 21);
        var fused = new BatchedSearch<ulong>(b, actions, n, new PuctPolicy());
        var generic = new BatchedSearch<ulong>(b, actions, n, new PuctPolicy { QTransform = new DelegatingTransform(new ParentAndSiblingsQTransform()) });
        var x = fused.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(actions, discount: -1f), seed: 8);
        var y = generic.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(actions, discount: -1f), seed: 8);
        Assert.Equal(y.VisitCounts.ToArray(), x.VisitCounts.ToArray());
        Assert.Equal(y.RootValues.ToArray(), x.RootValues.ToArray());
        Assert.Equal(y.Actions.ToArray(), x.Actions.ToArray());
        for (var root = 0; root < b; root++)
        {
            Assert.Equal(y.Tree.NodeCount(root), x.Tree.NodeCount(root));
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(16)]
    public void InlinedGumbelInteriorEqualsTheGenericPath(int actions)
    {
        const int b = 4, n = 96;
        var (embeddings, logits, values, valid) = RandomTreeModel.Roots(b, actions, salt: 33);
        var fused = new BatchedSearch<ulong>(b, actions, n, new GumbelPolicy());
        var generic = new BatchedSearch<ulong>(b, actions, n, new GumbelPolicy { QTransform = new DelegatingTransform(new CompletedByMixValueQTransform()) });
        var x = fused.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(actions, discount: -1f), seed: 2);
        var y = generic.Run(new SearchRoot<ulong>(logits, values, embeddings, valid), new RandomTreeModel(actions, discount: -1f), seed: 2);
        Assert.Equal(y.VisitCounts.ToArray(), x.VisitCounts.ToArray());
        Assert.Equal(y.ActionWeights.ToArray(), x.ActionWeights.ToArray());
        Assert.Equal(y.RootValues.ToArray(), x.RootValues.ToArray());
        var interiorNodes = 0;
        for (var root = 0; root < b; root++)
        {
            Assert.Equal(y.Tree.NodeCount(root), x.Tree.NodeCount(root));
            for (var node = 1; node < x.Tree.NodeCount(root); node++)
            {
                interiorNodes += x.Tree.Parent(root, node) != SearchTree.RootIndex ? 1 : 0;
            }
        }
        Assert.True(interiorNodes > 40, $"only {interiorNodes} nodes below depth 1: interior selection barely ran");
    }

    [Fact]
    public void SequentialHalvingMatchesMctx()
    {
        // mctx seq_halving.get_sequence_of_considered_visits(4, 16) and (2, 5), computed with its Python code.
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5], SequentialHalving.ConsideredVisits(4, 16));
        Assert.Equal([0, 0, 1, 1, 2], SequentialHalving.ConsideredVisits(2, 5));
        Assert.Equal([0, 1, 2], SequentialHalving.ConsideredVisits(1, 3));
    }

    [Fact]
    public void RejectsBadShapesAndRootsWithoutLegalActions()
    {
        var search = new BatchedSearch<int>(2, 3, 4, new PuctPolicy());
        var model = new DeterministicBanditModel([0f, 0f, 0f]);
        Assert.Throws<ArgumentException>(() => search.Run(new SearchRoot<int>(new float[5], new float[2], new int[2]), model, seed: 0));
        Assert.Throws<ArgumentException>(() => search.Run(new SearchRoot<int>(new float[9], new float[3], new int[3]), model, seed: 0));
        var noLegal = new bool[] { true, false, true, false, false, false };
        var e = Assert.Throws<ArgumentException>(() => search.Run(new SearchRoot<int>(new float[6], new float[2], new int[2], noLegal), model, seed: 0));
        Assert.Matches(@"root 1(?![0-9])", e.Message);
        Assert.Throws<ArgumentException>(() => new BatchedSearch<int>(2, 3, 4, new PuctPolicy { DirichletAlpha = 0 }));
    }

    [Fact]
    public void DirichletSamplesHaveTheRightMean()
    {
        var rng = new Telos.Randomness.Rng(3);
        Span<float> sample = stackalloc float[4];
        var mean = new double[4];
        const int draws = 4000;
        for (var i = 0; i < draws; i++)
        {
            Dirichlet.Sample(ref rng, 0.3, sample);
            Assert.Equal(1f, Sum(sample), 4);
            for (var k = 0; k < 4; k++)
            {
                mean[k] += sample[k] / draws;
            }
        }
        foreach (var m in mean)
        {
            Assert.InRange(m, 0.22, 0.28);
        }
        var gammaMean = 0.0;
        for (var i = 0; i < draws; i++)
        {
            gammaMean += Dirichlet.Gamma(ref rng, 2.5) / draws;
        }
        Assert.InRange(gammaMean, 2.4, 2.6);
    }

    private static float Sum(ReadOnlySpan<float> values)
    {
        var s = 0f;
        foreach (var v in values)
        {
            s += v;
        }
        return s;
    }

    private static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var l in logits)
        {
            max = Math.Max(max, l);
        }
        var p = new double[logits.Length];
        var z = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = Math.Exp(logits[i] - max);
            z += p[i];
        }
        for (var i = 0; i < p.Length; i++)
        {
            p[i] /= z;
        }
        return p;
    }
}
