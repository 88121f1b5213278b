using CsCheck;
using Telos.Environments;
using Telos.Randomness;

namespace Telos.Tests.Environments;

public sealed class KeysAndChestsTests
{
    [Fact]
    public void Counts_follow_the_distribution()
    {
        Gen.Select(Gen.Int[3, 25], Gen.Int[1, 3], Gen.Long[0, 1_000_000_000], Gen.Bool).Sample((size, maxMinority, seed, test) =>
        {
            maxMinority = Math.Min(maxMinority, (size * size - 1) / 3);
            var distribution = TaskDistributions.KeysAndChests(test ? "kc/test" : "kc/train", size, maxMinority);
            var level = distribution.Level(seed);
            var (keys, chests) = (level.Keys.Length, level.Chests.Length);
            var minority = test ? chests : keys;
            Assert.InRange(minority, 1, maxMinority);
            Assert.Equal(2 * minority, test ? keys : chests);
            var cells = new HashSet<int>([level.Start, .. level.Keys.ToArray(), .. level.Chests.ToArray()]);
            Assert.Equal(1 + keys + chests, cells.Count);
            Assert.All(cells, c => Assert.InRange(c, 0, size * size - 1));
        }, iter: 300);
    }

    [Fact]
    public void Minority_counts_cover_their_range()
    {
        var distribution = TaskDistributions.KeysAndChests("kc/train");
        var counts = Enumerable.Range(0, 300).Select(s => distribution.Level(s).Keys.Length).GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([1, 2, 3], counts.Keys.Order());
        Assert.All(counts.Values, c => Assert.InRange(c, 60, 140));
    }

    [Fact]
    public void Keys_open_chests_and_the_episode_ends_when_no_chest_can_be_opened()
    {
        // 3×3 room: start at cell 0, key at 1, chests at 2 and 5.
        var level = new KeysAndChests(3, start: 0, keys: [1], chests: [2, 5]);
        var s = level.Initial;
        var r = level.Step(s, Maze.Right);            // onto the key
        Assert.Equal(1, r.Next.KeysHeld);
        Assert.Equal(0f, r.Reward);
        Assert.False(r.Done);
        r = level.Step(r.Next, Maze.Right);           // onto chest 0: opens it, spends the key
        Assert.Equal(1f, r.Reward);
        Assert.Equal(0, r.Next.KeysHeld);
        Assert.Equal(1, r.Next.ChestsOpenedCount);
        // No key held and none left: chest 1 can never be opened.
        Assert.True(r.Terminated);
        Assert.Equal("..A\n..c\n...\nkeys held: 0\n", level.Render(r.Next));
    }

    [Fact]
    public void A_chest_without_a_key_stays_closed()
    {
        var level = new KeysAndChests(3, start: 0, keys: [8], chests: [1]);
        var r = level.Step(level.Initial, Maze.Right);
        Assert.Equal(0f, r.Reward);
        Assert.Equal(0, r.Next.ChestsOpenedCount);
        Assert.False(r.Done);
        var features = new double[KeysAndChests.FeatureNames.Count];
        level.WriteFeatures(r.Next, features);
        var f = KeysAndChests.FeatureNames;
        Assert.Equal(0, features[f.Require("keys_held")]);
        Assert.Equal(3, features[f.Require("dist_to_nearest_key")]);      // from (0,1) to (2,2)
        Assert.Equal(0, features[f.Require("dist_to_nearest_chest")]);    // standing on it
        Assert.Equal(1, features[f.Require("keys_remaining")]);
        Assert.Equal(1, features[f.Require("chests_remaining")]);
    }

    [Fact]
    public void Nearest_distances_equal_a_brute_force_over_items()
    {
        Gen.Select(Gen.Long[0, 1_000_000], Gen.ULong).Sample((seed, walkSeed) =>
        {
            var level = TaskDistributions.KeysAndChests("kc/test", 7).Level(seed);
            var rng = new Rng(walkSeed);
            var state = level.Initial;
            var f = KeysAndChests.FeatureNames;
            var features = new double[f.Count];
            for (var t = 0; t < 40; t++)
            {
                level.WriteFeatures(state, features);
                var (row, column) = (state.Cell / 7, state.Cell % 7);
                int Brute(ReadOnlySpan<int> items, ushort done)
                {
                    var best = 0;
                    var any = false;
                    for (var i = 0; i < items.Length; i++)
                    {
                        if ((done & (1 << i)) != 0)
                        {
                            continue;
                        }
                        var d = Math.Abs(items[i] / 7 - row) + Math.Abs(items[i] % 7 - column);
                        best = any ? Math.Min(best, d) : d;
                        any = true;
                    }
                    return best;
                }
                Assert.Equal(Brute(level.Keys, state.KeysTaken), features[f.Require("dist_to_nearest_key")]);
                Assert.Equal(Brute(level.Chests, state.ChestsOpened), features[f.Require("dist_to_nearest_chest")]);
                Assert.True(state.KeysHeld >= 0);
                var r = level.Step(state, rng.NextInt(4));
                if (r.Done)
                {
                    break;
                }
                state = r.Next;
            }
        }, iter: 100);
    }

    [Fact]
    public void State_index_round_trips()
    {
        var level = new KeysAndChests(4, start: 0, keys: [1, 2], chests: [3]);
        Assert.Equal(16 * 8, level.StateCount);
        for (var i = 0; i < level.StateCount; i++)
        {
            Assert.Equal(i, level.IndexOf(level.StateAt(i)));
        }
    }

    [Fact]
    public void Too_many_items_to_enumerate_is_reported_not_overflowed()
    {
        var level = new KeysAndChests(25, 0, Enumerable.Range(1, 16).ToArray(), Enumerable.Range(17, 16).ToArray());
        Assert.Contains("too many to enumerate; use a tree-search planner", Assert.Throws<TelosInputException>(() => level.StateCount).Message);
        Assert.Equal(0f, level.Step(level.Initial, Maze.Right).Reward);
    }

    [Fact]
    public void Same_seed_same_level_and_bad_input_is_rejected()
    {
        var a = TaskDistributions.KeysAndChests("kc/train").Level(12);
        var b = TaskDistributions.KeysAndChests("kc/train").Level(12);
        Assert.Equal(a.Render(a.Initial), b.Render(b.Initial));
        Assert.Contains("unknown task distribution 'kc/nope'", Assert.Throws<TelosInputException>(() => TaskDistributions.KeysAndChests("kc/nope")).Message);
        Assert.Matches(@"room size 2(?![0-9])", Assert.Throws<TelosInputException>(() => TaskDistributions.KeysAndChests("kc/train", size: 2)).Message);
        Assert.Matches(@"max minority count 9(?![0-9])", Assert.Throws<TelosInputException>(() => TaskDistributions.KeysAndChests("kc/train", maxMinority: 9)).Message);
        Assert.Matches(@"seed -3(?![0-9])", Assert.Throws<TelosInputException>(() => TaskDistributions.KeysAndChests("kc/test").Level(-3)).Message);
    }

    [Fact]
    public void Generic_batch_agrees_with_single_steps_and_allocates_nothing()
    {
        var distribution = TaskDistributions.KeysAndChests("kc/train", 5, stepLimit: 12);
        var batch = new BatchedEnvironment<KeysAndChestsState>(distribution, 6, seed: 4, poolSize: 8, encodeObservations: true);
        var levels = Enumerable.Range(0, 6).Select(batch.CurrentLevel).ToArray();
        var states = levels.Select(l => l.Initial).ToArray();
        var rng = new Rng(9);
        var actions = new int[6];
        var rewards = new float[6];
        var terminated = new bool[6];
        var truncated = new bool[6];
        var expected = new float[batch.ObservationShape.Size];
        var resets = 0;
        for (var t = 0; t < 60; t++)
        {
            for (var i = 0; i < 6; i++)
            {
                actions[i] = rng.NextInt(4);
            }
            batch.Step(actions, rewards, terminated, truncated);
            for (var i = 0; i < 6; i++)
            {
                var single = levels[i].Step(states[i], actions[i]);
                Assert.Equal((single.Reward, single.Terminated, single.Truncated), (rewards[i], terminated[i], truncated[i]));
                if (single.Done)
                {
                    resets++;
                    Assert.Equal(single.Next, batch.FinalState(i));
                    levels[i] = batch.CurrentLevel(i);
                    states[i] = levels[i].Initial;
                }
                else
                {
                    states[i] = single.Next;
                }
                Assert.Equal(states[i], batch.CurrentState(i));
                levels[i].WriteObservation(states[i], expected);
                Assert.True(expected.AsSpan().SequenceEqual(batch.Observations.Slice(i * expected.Length, expected.Length)));
            }
        }
        Assert.True(resets > 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0; t < 500; t++)
        {
            actions[t % 6] = t & 3;
            batch.Step(actions, rewards, terminated, truncated);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
