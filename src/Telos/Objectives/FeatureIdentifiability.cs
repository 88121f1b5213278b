using System.Globalization;

namespace Telos.Objectives;

/// <summary>Why a feature's weight is not identified by a sample.</summary>
public enum Unidentified
{
    /// <summary>The feature does not vary on the sample: its weight trades off one for one against the bias.</summary>
    Constant,

    /// <summary>The feature moves in lockstep with one other feature (|correlation| ≥ the threshold): only the sum of their (scaled) weights is fitted.</summary>
    Duplicate,

    /// <summary>The feature is (nearly) a linear combination of several others (R² ≥ the threshold).</summary>
    Collinear,
}

/// <summary>A feature whose weight the sample cannot pin down.</summary>
/// <param name="Feature">Its name.</param>
/// <param name="Reason">Constant, duplicate or collinear.</param>
/// <param name="Partners">The features it moves with (empty for a constant one), the strongest first.</param>
/// <param name="Score">|correlation| with the partner (duplicate), R² on the others (collinear), or 1 (constant).</param>
public sealed record UnidentifiedFeature(string Feature, Unidentified Reason, IReadOnlyList<string> Partners, double Score)
{
    /// <summary>One line: <c>at_corner ≡ at_cheese (|r| = 1.000)</c>.</summary>
    public override string ToString() => Reason switch
    {
        Unidentified.Constant => $"{Feature} is constant",
        Unidentified.Duplicate => string.Create(CultureInfo.InvariantCulture, $"{Feature} ≡ {Partners[0]} (|r| = {Score:F3})"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Feature} ≈ combination of {string.Join(", ", Partners)} (R² = {Score:F3})"),
    };
}

/// <summary>What <see cref="FeatureIdentifiability"/>'s audit found.</summary>
/// <param name="Rows">States the audit looked at.</param>
/// <param name="Threshold">|r| or R² at or above which a feature counts as not identified.</param>
/// <param name="Features">Every feature not identified, in schema order.</param>
public sealed record IdentifiabilityReport(int Rows, double Threshold, IReadOnlyList<UnidentifiedFeature> Features)
{
    /// <summary>Whether every weight is identified.</summary>
    public bool AllIdentified => Features.Count == 0;

    /// <summary>Whether <paramref name="feature"/> is among the unidentified ones.</summary>
    public bool IsUnidentified(string feature) => Features.Any(f => f.Feature == feature);

    /// <summary>
    /// One line per finding, a duplicate pair once (<c>at_cheese ≡ at_corner</c> and not also
    /// <c>at_corner ≡ at_cheese</c>), in schema order; empty when every weight is identified.
    /// </summary>
    public IReadOnlyList<string> Lines()
    {
        var shown = new HashSet<string>(StringComparer.Ordinal);
        return [.. Features.Where(f => f.Reason != Unidentified.Duplicate || !shown.Contains(f.Partners[0]) && shown.Add(f.Feature)).Select(f => f.ToString())];
    }

    /// <summary><see cref="Lines"/> joined by newlines, or "every weight is identified".</summary>
    public string Describe() =>
        AllIdentified ? string.Create(CultureInfo.InvariantCulture, $"every weight is identified on these {Rows} states") : string.Join('\n', Lines());
}

/// <summary>
/// A zero-rollout audit a user can run without knowing the true reward: which features' weights the
/// training data cannot identify. If two features are equal on every training state (on
/// <c>maze/train</c>, <c>at_cheese</c> and <c>at_corner</c>), any split of weight between them fits
/// the data equally, so the card's split is arbitrary and says nothing about which one the objective
/// "means"; off-distribution, where they come apart, the split decides behaviour.
/// </summary>
/// <remarks>
/// Columns are standardized; a feature is <see cref="Unidentified.Constant"/> if its standard deviation is
/// below 1e-9·(1 + |mean|), <see cref="Unidentified.Duplicate"/> if some other non-constant feature has
/// |Pearson r| ≥ threshold with it, else <see cref="Unidentified.Collinear"/> if least squares on all the
/// other non-constant features explains R² ≥ threshold of its variance (normal equations with a 1e-9 ridge,
/// F ≤ a few dozen). Cost O(N·F²).
/// </remarks>
public static class FeatureIdentifiability
{
    /// <summary>Audits the next states s′ of <paramref name="sample"/> (the states an arrival-reward objective is fitted on).</summary>
    /// <param name="sample">Transitions, typically the training data of the objective.</param>
    /// <param name="features">Columns to audit (default: all of the sample's).</param>
    /// <param name="threshold">|r| or R² in (0, 1] at or above which a weight counts as not identified.</param>
    /// <param name="maxRows">States used, evenly strided over the sample.</param>
    /// <exception cref="TelosInputException">A feature the sample lacks, or a threshold outside (0, 1].</exception>
    public static IdentifiabilityReport Audit(TransitionSample sample, IReadOnlyList<string>? features = null, double threshold = 0.999, int maxRows = 50_000)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var names = features ?? sample.Features.Names;
        return Audit(sample.FeatureRows(names, next: true, maxRows), names, threshold);
    }

    /// <summary>Audits a row-major matrix [N, |names|].</summary>
    /// <exception cref="TelosInputException">A threshold outside (0, 1], or rows that do not fit the names.</exception>
    public static IdentifiabilityReport Audit(ReadOnlySpan<double> rows, IReadOnlyList<string> names, double threshold = 0.999)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (!(threshold > 0 && threshold <= 1))
        {
            throw new TelosInputException($"identifiability threshold {threshold} must be in (0, 1]");
        }
        var f = names.Count;
        if (f == 0 || rows.Length % f != 0 || rows.Length == 0)
        {
            throw new TelosInputException($"{rows.Length} values do not make rows of {f} features");
        }
        var n = rows.Length / f;
        var z = Standardize(rows, n, f, out var constant);
        var found = new List<UnidentifiedFeature>();
        var live = Enumerable.Range(0, f).Where(j => !constant[j]).ToArray();
        // Correlation matrix of the live columns.
        var corr = new double[f, f];
        foreach (var i in live)
        {
            foreach (var j in live)
            {
                var s = 0.0;
                for (var r = 0; r < n; r++)
                {
                    s += z[r * f + i] * z[r * f + j];
                }
                corr[i, j] = s / n;
            }
        }
        for (var j = 0; j < f; j++)
        {
            if (constant[j])
            {
                found.Add(new UnidentifiedFeature(names[j], Unidentified.Constant, [], 1.0));
                continue;
            }
            var twin = live.Where(k => k != j).OrderByDescending(k => Math.Abs(corr[j, k])).ThenBy(k => k).FirstOrDefault(-1);
            if (twin >= 0 && Math.Abs(corr[j, twin]) >= threshold)
            {
                found.Add(new UnidentifiedFeature(names[j], Unidentified.Duplicate, [names[twin]], Math.Abs(corr[j, twin])));
                continue;
            }
            var others = live.Where(k => k != j).ToArray();
            if (others.Length < 2)
            {
                continue;
            }
            var (r2, beta) = Explained(corr, j, others);
            if (r2 >= threshold)
            {
                var partners = others.Select((k, i) => (k, w: Math.Abs(beta[i]))).Where(p => p.w >= 0.1 * beta.Max(Math.Abs))
                    .OrderByDescending(p => p.w).ThenBy(p => p.k).Take(4).Select(p => names[p.k]).ToArray();
                found.Add(new UnidentifiedFeature(names[j], Unidentified.Collinear, partners, r2));
            }
        }
        return new IdentifiabilityReport(n, threshold, found);
    }

    private static double[] Standardize(ReadOnlySpan<double> rows, int n, int f, out bool[] constant)
    {
        var z = new double[n * f];
        constant = new bool[f];
        for (var j = 0; j < f; j++)
        {
            var mean = 0.0;
            for (var r = 0; r < n; r++)
            {
                mean += rows[r * f + j];
            }
            mean /= n;
            var variance = 0.0;
            for (var r = 0; r < n; r++)
            {
                var d = rows[r * f + j] - mean;
                variance += d * d;
            }
            var sd = Math.Sqrt(variance / n);
            constant[j] = !(sd > 1e-9 * (1 + Math.Abs(mean)));
            for (var r = 0; r < n && !constant[j]; r++)
            {
                z[r * f + j] = (rows[r * f + j] - mean) / sd;
            }
        }
        return z;
    }

    /// <summary>R² of column <paramref name="target"/> on <paramref name="others"/>, from the correlation matrix: β = C⁻¹c, R² = c·β.</summary>
    private static (double R2, double[] Beta) Explained(double[,] corr, int target, int[] others)
    {
        var m = others.Length;
        var a = new double[m, m + 1];
        for (var i = 0; i < m; i++)
        {
            for (var k = 0; k < m; k++)
            {
                a[i, k] = corr[others[i], others[k]] + (i == k ? 1e-9 : 0);
            }
            a[i, m] = corr[others[i], target];
        }
        // Gaussian elimination with partial pivoting on the (positive semi-definite + ridge) system.
        for (var col = 0; col < m; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < m; r++)
            {
                pivot = Math.Abs(a[r, col]) > Math.Abs(a[pivot, col]) ? r : pivot;
            }
            for (var k = 0; k <= m; k++)
            {
                (a[col, k], a[pivot, k]) = (a[pivot, k], a[col, k]);
            }
            for (var r = 0; r < m; r++)
            {
                if (r == col || a[col, col] == 0)
                {
                    continue;
                }
                var factor = a[r, col] / a[col, col];
                for (var k = col; k <= m; k++)
                {
                    a[r, k] -= factor * a[col, k];
                }
            }
        }
        var beta = new double[m];
        var r2 = 0.0;
        for (var i = 0; i < m; i++)
        {
            beta[i] = a[i, i] == 0 ? 0 : a[i, m] / a[i, i];
        }
        for (var i = 0; i < m; i++)
        {
            r2 += beta[i] * corr[others[i], target];
        }
        return (Math.Clamp(r2, 0, 1), beta);
    }
}
