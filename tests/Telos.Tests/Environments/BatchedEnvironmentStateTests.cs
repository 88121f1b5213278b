using Telos.Environments;
using Telos.Randomness;

namespace Telos.Tests.Environments;

public sealed class BatchedEnvironmentStateTests
{
    public static TheoryData<string, int> Batches => new() { { "maze/train", 5 }, { "maze/test", 13 }, { "kc/train", 3 }, { "kc/test", 11 } };

    /// <summary>
    /// Stepped a while, saved, and restored into fresh environments of the same seed, the batch then gives the
    /// same rewards, flags, observations and final states as the original, step for step; a fresh batch without
    /// the restore does not (so the comparison can fail).
    /// </summary>
    [Theory]
    [MemberData(nameof(Batches))]
    public void ARestoredBatchContinuesAsTheOriginal(string distribution, int count)
    {
        var family = EnvironmentFamilies.Of(distribution);
        var (original, restored, fresh) = family.Accept(new Continuations(distribution, count));
        Assert.Equal(original, restored);
        Assert.NotEqual(original, fresh);
    }

    /// <summary>A state with a level outside the pool is refused with one line, and the batch keeps its state.</summary>
    [Fact]
    public void AnOutOfRangeLevelIsRefusedAndChangesNothing()
    {
        var batch = MazeFamily.Instance.Batch(MazeFamily.Instance.Distribution("maze/test", DistributionParameters.Of(("size", 5))), 3, 9, encodeObservations: true, poolSize: 4);
        var saved = batch.SaveState();
        var bad = new Dictionary<string, Array>(saved.Arrays) { ["level"] = new[] { 0, 4, 1 } };
        var observations = batch.Observations.ToArray();

        var error = Assert.Throws<TelosInputException>(() => batch.RestoreState(new BatchedEnvironmentState(bad)));

        Assert.Equal("environment state 'level'[1] is 4; expected 0 to 3", error.Message);
        Assert.Equal(observations, batch.Observations.ToArray());
        Assert.Equal(saved.Arrays["level"], batch.SaveState().Arrays["level"]);
    }

    private static List<string> Trace<TState>(IBatchedEnvironment<TState> batch, int steps)
        where TState : struct
    {
        var n = batch.Count;
        var (actions, rewards, terminated, truncated) = (new int[n], new float[n], new bool[n], new bool[n]);
        var rng = new Rng(11);
        var final = new float[batch.ObservationShape.Size];
        var lines = new List<string>();
        for (var t = 0; t < steps; t++)
        {
            for (var i = 0; i < n; i++)
            {
                actions[i] = rng.NextInt(batch.ActionCount);
            }
            batch.Step(actions, rewards, terminated, truncated);
            for (var i = 0; i < n; i++)
            {
                batch.WriteFinalObservation(i, final);
                lines.Add($"{t} {i} {rewards[i]} {terminated[i]} {truncated[i]} {batch.CurrentState(i)} {batch.FinalState(i)} {string.Join("", final)}");
            }
            lines.Add(string.Join("", batch.Observations.ToArray()));
        }
        return lines;
    }

    /// <summary>40 more steps of a batch stepped 25 times, of a fresh one restored to its state, and of a fresh one as it is.</summary>
    private sealed record Continuations(string Distribution, int Count) : IFamilyOperation<(List<string>, List<string>, List<string>)>
    {
        public (List<string>, List<string>, List<string>) Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var levels = family.Distribution(Distribution, DistributionParameters.Of(("size", 5), ("step_limit", 7)));
            IBatchedEnvironment<TState> Make() => family.Batch(levels, Count, 21, encodeObservations: true, poolSize: 16);
            var original = Make();
            Trace(original, 25);
            var restored = Make();
            restored.RestoreState(original.SaveState());
            return (Trace(original, 40), Trace(restored, 40), Trace(Make(), 40));
        }
    }
}
