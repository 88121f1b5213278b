using Telos.Environments;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Tests.Objectives;

public sealed class EpicTests
{
    private const double Gamma = 0.9;
    private static readonly TransitionSample Sample = TransitionSample.Collect<MazeState>(
        s => TaskDistributions.Maze("maze/test", size: 7).Level(s), levels: 6, stepsPerLevel: 120, seed: 11, uniformStarts: true, episodeLength: 20);

    private static ObjectiveCard RandomCard(ref Rng rng)
    {
        var weights = new List<KeyValuePair<string, double>>();
        foreach (var name in Maze.FeatureNames.Names)
        {
            weights.Add(new(name, rng.NextGaussian()));
        }
        return ObjectiveCard.Linear(weights, rng.NextGaussian());
    }

    private static ITransitionObjective Shaped(ObjectiveCard card, ref Rng rng)
    {
        var potential = new double[Maze.FeatureNames.Count];
        for (var i = 0; i < potential.Length; i++)
        {
            potential[i] = 3 * rng.NextGaussian();
        }
        return new ShapedObjective(card.Compile(), new CompiledLinearObjective(Maze.FeatureNames, potential, 1.0), Gamma);
    }

    [Fact]
    public void ZeroWithin1e6BetweenAnObjectiveAndItsShapedOrPositivelyScaledCopy()
    {
        var rng = new Rng(3);
        for (var trial = 0; trial < 5; trial++)
        {
            var card = RandomCard(ref rng);
            var shaped = Shaped(card, ref rng);
            var scaled = card with { Weights = [.. card.Weights.Select(w => 3.5 * w)], Bias = -7 };
            Assert.InRange(Epic.Distance(card.CompileTransition(), shaped, Sample, Gamma).Distance, 0, 1e-6);
            Assert.InRange(Epic.Distance(card.CompileTransition(), scaled.CompileTransition(), Sample, Gamma).Distance, 0, 1e-6);
        }
    }

    [Fact]
    public void NearOneWithin1e6AgainstNegationAndSymmetric()
    {
        var rng = new Rng(4);
        var a = RandomCard(ref rng);
        var b = RandomCard(ref rng);
        var negated = a with { Weights = [.. a.Weights.Select(w => -w)] };
        Assert.InRange(Epic.Distance(a.CompileTransition(), negated.CompileTransition(), Sample, Gamma).Distance, 1 - 1e-6, 1);
        var ab = Epic.Distance(a.CompileTransition(), b.CompileTransition(), Sample, Gamma).Distance;
        var ba = Epic.Distance(b.CompileTransition(), a.CompileTransition(), Sample, Gamma).Distance;
        Assert.Equal(ab, ba, 12);
        Assert.InRange(ab, 0.01, 0.99);
    }

    [Fact]
    public void TriangleInequalityOnRandomTriplesWithin1e12()
    {
        var rng = new Rng(5);
        for (var trial = 0; trial < 10; trial++)
        {
            var a = RandomCard(ref rng).CompileTransition();
            var b = Shaped(RandomCard(ref rng), ref rng);
            var c = RandomCard(ref rng).CompileTransition();
            var ab = Epic.Distance(a, b, Sample, Gamma).Distance;
            var bc = Epic.Distance(b, c, Sample, Gamma).Distance;
            var ac = Epic.Distance(a, c, Sample, Gamma).Distance;
            Assert.True(ac <= ab + bc + 1e-12, $"trial {trial}: d(a,c)={ac} > d(a,b)+d(b,c)={ab + bc}");
        }
    }

    /// <summary>Hides the concrete type, so EPIC takes its generic O(N·M) path.</summary>
    private sealed class Opaque(ITransitionObjective inner) : ITransitionObjective
    {
        public FeatureSchema Features => inner.Features;

        public void Evaluate(ReadOnlySpan<double> from, ReadOnlySpan<bool> fromTerminal, ReadOnlySpan<double> to, ReadOnlySpan<bool> toTerminal, Span<double> rewards) =>
            inner.Evaluate(from, fromTerminal, to, toTerminal, rewards);
    }

    [Fact]
    public void SeparableFastPathEqualsTheGenericCanonicalizationWithin1e9()
    {
        var rng = new Rng(6);
        var shaped = Shaped(RandomCard(ref rng), ref rng);
        var fast = Epic.Canonicalize(shaped, Sample, Gamma, 64);
        var generic = Epic.Canonicalize(new Opaque(shaped), Sample, Gamma, 64);
        for (var i = 0; i < fast.Length; i++)
        {
            Assert.True(Math.Abs(fast[i] - generic[i]) < 1e-9, $"transition {i}: {fast[i]} vs {generic[i]}");
        }
        var b = RandomCard(ref rng).CompileTransition();
        Assert.Equal(Epic.Distance(shaped, b, Sample, Gamma, 64).Distance, Epic.Distance(new Opaque(shaped), new Opaque(b), Sample, Gamma, 64).Distance, 9);
    }

    [Fact]
    public void CardsOverFewerFeaturesThanTheSampleKeepTheirValuesOnTheSeparablePath()
    {
        // Columns in another order than the sample's, and a shaped card whose potential reads them too.
        var names = new FeatureSchema(["y", "at_cheese", "path_dist_to_corner"]);
        var arrival = new ArrivalReward(new CompiledLinearObjective(names, [0.5, 10.0, -0.3], 0.25));
        var shaped = new ShapedObjective(new CompiledLinearObjective(names, [1.0, 3.0, 0.0]), new CompiledLinearObjective(names, [0.0, 2.0, -1.5]), Gamma);
        foreach (var reward in new ITransitionObjective[] { arrival, shaped })
        {
            var fast = Epic.Canonicalize(reward, Sample, Gamma, 64);
            var generic = Epic.Canonicalize(new Opaque(reward), Sample, Gamma, 64);
            for (var i = 0; i < fast.Length; i++)
            {
                Assert.True(Math.Abs(fast[i] - generic[i]) < 1e-9, $"{reward.GetType().Name}, transition {i}: {fast[i]} vs {generic[i]}");
            }
        }
    }

    [Fact]
    public void SampleIsDeterministicInItsSeedAndSeesTheCheese()
    {
        var again = TransitionSample.Collect<MazeState>(
            s => TaskDistributions.Maze("maze/test", size: 7).Level(s), levels: 6, stepsPerLevel: 120, seed: 11, uniformStarts: true, episodeLength: 20);
        Assert.Equal(Sample.Hash(), again.Hash());
        Assert.Contains(true, Sample.ToTerminal);
        Assert.Equal(Sample.Rewards!.Count(r => r > 0), Sample.ToTerminal.Count(t => t));
    }
}
