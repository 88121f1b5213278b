using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Randomness;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class LinearProbeTests
{
    private const int Classes = 4;

    /// <summary>
    /// 60 groups × 20 rows of 12 Gaussian features; the label is the argmax of a fixed random linear
    /// map of the features (a known linear signal), or that label shuffled across rows (none).
    /// </summary>
    private static ProbeDataset Synthetic(bool shuffled)
    {
        var stream = Seeds.Stream(11, "probe-test");
        var map = new double[12, Classes];
        for (var i = 0; i < 12; i++)
        {
            for (var k = 0; k < Classes; k++)
            {
                map[i, k] = stream.NextGaussian();
            }
        }
        var rows = new List<(float[] X, int Label, long Group)>();
        for (var group = 0; group < 60; group++)
        {
            for (var r = 0; r < 20; r++)
            {
                var x = new float[12];
                for (var i = 0; i < 12; i++)
                {
                    x[i] = (float)stream.NextGaussian();
                }
                var label = Enumerable.Range(0, Classes).MaxBy(k => Enumerable.Range(0, 12).Sum(i => x[i] * map[i, k]));
                rows.Add((x, label, group));
            }
        }
        var labels = rows.Select(r => r.Label).ToArray();
        if (shuffled)
        {
            for (var i = labels.Length - 1; i > 0; i--)
            {
                var j = stream.NextInt(i + 1);
                (labels[i], labels[j]) = (labels[j], labels[i]);
            }
        }
        var data = new ProbeDataset();
        for (var i = 0; i < rows.Count; i++)
        {
            data.Add(rows[i].X, labels[i], rows[i].Group);
        }
        return data;
    }

    /// <summary>Both probes find the linear signal on held-out groups (chance is about 1/4).</summary>
    [Fact]
    public void ProbesFindAKnownLinearSignal()
    {
        TorchRuntime.EnsureInitialized();
        var data = Synthetic(shuffled: false);
        var ridge = LinearProbe.Ridge(data, Classes, lambda: 1);
        var logistic = LinearProbe.Logistic(data, Classes);
        Assert.True(ridge.HeldOutAccuracy >= 0.8, $"ridge held-out {ridge.HeldOutAccuracy}");
        Assert.True(logistic.HeldOutAccuracy >= 0.9, $"logistic held-out {logistic.HeldOutAccuracy}");
        Assert.Equal(15 * 20, ridge.HeldOutRows);
        Assert.Equal(45 * 20, ridge.TrainRows);
        Assert.True(ridge.MajorityBaseline < 0.45, $"majority {ridge.MajorityBaseline}");
    }

    /// <summary>With the labels shuffled there is nothing to find: held-out accuracy stays near chance, while the probe still fits its training rows better than that.</summary>
    [Fact]
    public void ShuffledTargetsGiveChanceAccuracy()
    {
        TorchRuntime.EnsureInitialized();
        var data = Synthetic(shuffled: true);
        var ridge = LinearProbe.Ridge(data, Classes, lambda: 1);
        var logistic = LinearProbe.Logistic(data, Classes);
        Assert.InRange(ridge.HeldOutAccuracy, 0.15, 0.37);
        Assert.InRange(logistic.HeldOutAccuracy, 0.15, 0.37);
        Assert.True(logistic.TrainAccuracy > logistic.HeldOutAccuracy, $"train {logistic.TrainAccuracy}, held-out {logistic.HeldOutAccuracy}");
    }

    /// <summary>The split is by group: no group on both sides, every row on one, the same split from the same seed and another from another seed.</summary>
    [Fact]
    public void SplitKeepsGroupsWhole()
    {
        long[] groups = [.. Enumerable.Range(0, 200).Select(i => (long)(i / 5))];
        var (train, heldOut) = LinearProbe.SplitByGroup(groups, 0.25, 3);
        Assert.Empty(train.Select(r => groups[r]).Intersect(heldOut.Select(r => groups[r])));
        Assert.Equal(200, train.Length + heldOut.Length);
        Assert.Equal(10, heldOut.Select(r => groups[r]).Distinct().Count());
        Assert.Equal(heldOut, LinearProbe.SplitByGroup(groups, 0.25, 3).HeldOut);
        Assert.NotEqual(heldOut, LinearProbe.SplitByGroup(groups, 0.25, 4).HeldOut);
    }

    /// <summary>The next-k-actions target: step t is labelled with the action k steps later, null past the end.</summary>
    [Fact]
    public void ActionsAheadShiftsByK()
    {
        Assert.Equal([3, 0, 1, null, null], ProbeDataset.ActionsAhead([1, 2, 3, 0, 1], 2));
        Assert.Equal([1, 2, 3], ProbeDataset.ActionsAhead([1, 2, 3], 0));
    }
}
