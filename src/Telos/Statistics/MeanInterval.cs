namespace Telos.Statistics;

/// <summary>
/// A mean over independent replicates (seeds) with its two-sided 95 % Student-t confidence interval:
/// mean ± t(0.975, n − 1) · s / √n, s the sample standard deviation.
/// </summary>
/// <param name="Mean">The sample mean.</param>
/// <param name="Low">Lower end; equal to <paramref name="Mean"/> when <paramref name="Count"/> is 1 (no interval).</param>
/// <param name="High">Upper end; equal to <paramref name="Mean"/> when <paramref name="Count"/> is 1.</param>
/// <param name="Count">The number of replicates.</param>
public readonly record struct MeanInterval(double Mean, double Low, double High, int Count)
{
    // t(0.975, df) for df = 1..30 (R: qt(0.975, 1:30)).
    private static readonly double[] Quantiles =
    [
        12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851, 2.364624252, 2.306004135,
        2.262157163, 2.228138852, 2.200985160, 2.178812830, 2.160368656, 2.144786688, 2.131449546, 2.119905299,
        2.109815578, 2.100922040, 2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
        2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456,
    ];

    /// <summary>Whether there is an interval (two or more replicates).</summary>
    public bool HasInterval => Count >= 2;

    /// <summary>The mean and its t interval over <paramref name="values"/>, summed in the given order.</summary>
    /// <exception cref="ArgumentException">No values, or a value that is not finite.</exception>
    public static MeanInterval Of(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }
        var sum = 0.0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v))
            {
                throw new ArgumentException($"value {v} is not finite", nameof(values));
            }
            sum += v;
        }
        var mean = sum / values.Count;
        if (values.Count == 1)
        {
            return new MeanInterval(mean, mean, mean, 1);
        }
        var squares = 0.0;
        foreach (var v in values)
        {
            squares += (v - mean) * (v - mean);
        }
        var half = TQuantile975(values.Count - 1) * Math.Sqrt(squares / (values.Count - 1) / values.Count);
        return new MeanInterval(mean, mean - half, mean + half, values.Count);
    }

    /// <summary>
    /// The interval of a quantity that cannot leave [<paramref name="low"/>, <paramref name="high"/>] (a rate: [0, 1]), its
    /// ends clipped to that range; the mean and the count are unchanged. A t interval is symmetric and can
    /// reach past the range when few replicates spread widely (five seeds at 0, 0, 0.5, 0.6, 0.7 give
    /// [−0.06, 0.78]); the clipped interval keeps every value the quantity can take.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="low"/> &gt; <paramref name="high"/>, or the mean lies outside the range.</exception>
    public MeanInterval ClippedTo(double low, double high)
    {
        if (!(low <= high))
        {
            throw new ArgumentException($"the range [{low}, {high}] is empty", nameof(low));
        }
        if (Mean < low || Mean > high)
        {
            throw new ArgumentException($"the mean {Mean} lies outside [{low}, {high}]", nameof(low));
        }
        return this with { Low = Math.Max(Low, low), High = Math.Min(High, high) };
    }

    /// <summary>
    /// The 0.975 quantile of Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom: tabulated
    /// for 1–30, the Cornish–Fisher expansion in 1/df to the fourth order beyond (error below 1e-7 there).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="degreesOfFreedom"/> &lt; 1.</exception>
    public static double TQuantile975(int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        if (degreesOfFreedom <= Quantiles.Length)
        {
            return Quantiles[degreesOfFreedom - 1];
        }
        const double Z = 1.959963984540054;
        double n = degreesOfFreedom;
        var z3 = Z * Z * Z;
        var z5 = z3 * Z * Z;
        var z7 = z5 * Z * Z;
        var z9 = z7 * Z * Z;
        return Z + ((z3 + Z) / 4 / n)
            + (((5 * z5) + (16 * z3) + (3 * Z)) / 96 / (n * n))
            + (((3 * z7) + (19 * z5) + (17 * z3) - (15 * Z)) / 384 / (n * n * n))
            + (((79 * z9) + (776 * z7) + (1482 * z5) - (1920 * z3) - (945 * Z)) / 92160 / (n * n * n * n));
    }
}
