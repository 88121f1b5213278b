namespace Telos.Objectives;

/// <summary>An EPIC distance and what it was computed from.</summary>
/// <param name="Distance">√((1 − ρ)/2) ∈ [0, 1]: 0 = equivalent up to shaping and positive scale, 1 = opposite.</param>
/// <param name="Pearson">ρ between the canonicalized rewards over the transitions.</param>
/// <param name="Transitions">N transitions correlated over.</param>
/// <param name="CoverageStates">M states averaged over in the canonicalization.</param>
public readonly record struct EpicResult(double Distance, double Pearson, int Transitions, int CoverageStates);

/// <summary>
/// EPIC (Gleave et al. 2021): canonicalize each reward to remove potential shaping,
/// C(R)(s, s′) = R(s, s′) + γE[R(s′, S′)] − E[R(s, S′)] − γE[R(S, S′)] with S, S′ ~ D_S independent,
/// then take the Pearson distance √((1 − ρ)/2) of the canonical rewards over the transition sample.
/// Invariant to potential shaping and positive scaling; symmetric; a pseudometric. Actions do not
/// appear because Telos rewards are functions of (s, s′).
/// </summary>
public static class Epic
{
    /// <summary>Default number of coverage states averaged over (the expectations cost N·M evaluations).</summary>
    public const int DefaultCoverage = 256;

    /// <summary>EPIC distance between <paramref name="a"/> and <paramref name="b"/> on <paramref name="sample"/>.</summary>
    /// <param name="a">First reward.</param>
    /// <param name="b">Second reward.</param>
    /// <param name="sample">Transitions correlated over and coverage states averaged over.</param>
    /// <param name="gamma">The discount of the shaping EPIC removes; use the shaping's γ.</param>
    /// <param name="coverage">At most this many coverage states (the first ones of the sample) enter the expectations.</param>
    /// <exception cref="TelosInputException">An objective reads features the sample does not have.</exception>
    public static EpicResult Distance(ITransitionObjective a, ITransitionObjective b, TransitionSample sample, double gamma = 0.99, int coverage = DefaultCoverage)
    {
        var ca = Canonicalize(a, sample, gamma, coverage);
        var cb = Canonicalize(b, sample, gamma, coverage);
        var rho = Pearson(ca, cb);
        return new EpicResult(Math.Sqrt(Math.Max(0.0, (1.0 - rho) / 2.0)), rho, sample.Count, Math.Min(coverage, sample.CoverageCount));
    }

    /// <summary>EPIC between two state objectives read as arrival rewards V(s′).</summary>
    public static EpicResult Distance(ICompiledObjective a, ICompiledObjective b, TransitionSample sample, double gamma = 0.99, int coverage = DefaultCoverage) =>
        Distance(new ArrivalReward(a), new ArrivalReward(b), sample, gamma, coverage);

    /// <summary>
    /// Pearson distance √((1 − ρ)/2). When either vector is constant, ρ is taken as 1 if both are
    /// constant and 0 otherwise (a constant reward carries no preference).
    /// </summary>
    public static double PearsonDistance(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => Math.Sqrt(Math.Max(0.0, (1.0 - Pearson(x, y)) / 2.0));

    /// <summary>C(R) at every transition of the sample, [N].</summary>
    public static double[] Canonicalize(ITransitionObjective reward, TransitionSample sample, double gamma, int coverage = DefaultCoverage)
    {
        var bound = FeatureBinding.Bind(reward, sample.Features);
        var f = sample.Features.Count;
        var n = sample.Count;
        var m = Math.Min(Math.Max(1, coverage), sample.CoverageCount);
        var cov = sample.Coverage.AsSpan(0, m * f);
        var covTerminal = sample.CoverageTerminal.AsSpan(0, m);

        var direct = new double[n];
        bound.Evaluate(sample.From, sample.FromTerminal, sample.To, sample.ToTerminal, direct);

        double[] fromNext, fromHere;
        double meanAll;
        if (bound is ArrivalReward or ShapedObjective)
        {
            // R(x, s′) = U(s′) + γΦ′(s′) − Φ′(x) separates, so E[R(x, S′)] = E[U(S′) + γΦ′(S′)] − Φ′(x)
            // exactly: O(N + M) evaluations instead of O(N·M), same numbers.
            var (u, phi) = bound is ShapedObjective shaped ? (shaped.Base, shaped.Potential) : (((ArrivalReward)bound).Objective, null);
            var gammaShaping = bound is ShapedObjective s2 ? s2.Gamma : 0.0;
            var covU = new double[m];
            u.Evaluate(cov, covU);
            var covPhi = Potential(phi, cov, covTerminal, m);
            var arrival = 0.0;
            for (var j = 0; j < m; j++)
            {
                arrival += covU[j] + gammaShaping * covPhi[j];
            }
            arrival /= m;
            var phiNext = Potential(phi, sample.To, sample.ToTerminal, n);
            var phiHere = Potential(phi, sample.From, sample.FromTerminal, n);
            fromNext = phiNext.Select(p => arrival - p).ToArray();
            fromHere = phiHere.Select(p => arrival - p).ToArray();
            meanAll = arrival - covPhi.Average();
        }
        else
        {
            // E[R(x, S′)] for x = s′ᵢ and x = sᵢ: evaluate x against all M coverage states in chunks.
            fromNext = MeanAgainstCoverage(bound, sample.To, sample.ToTerminal, n, cov, covTerminal, m, f);
            fromHere = MeanAgainstCoverage(bound, sample.From, sample.FromTerminal, n, cov, covTerminal, m, f);
            // E[R(S, S′)]: every coverage state against every coverage state.
            meanAll = MeanAgainstCoverage(bound, cov.ToArray(), covTerminal.ToArray(), m, cov, covTerminal, m, f).Average();
        }

        var canonical = new double[n];
        for (var i = 0; i < n; i++)
        {
            canonical[i] = direct[i] + gamma * fromNext[i] - fromHere[i] - gamma * meanAll;
        }
        return canonical;
    }

    /// <summary>Φ′ = Φ on non-terminal rows, 0 on terminal ones (all 0 without a potential).</summary>
    private static double[] Potential(ICompiledObjective? phi, ReadOnlySpan<double> rows, ReadOnlySpan<bool> terminal, int n)
    {
        var values = new double[n];
        if (phi is null)
        {
            return values;
        }
        phi.Evaluate(rows[..(n * phi.Features.Count)], values);
        for (var i = 0; i < n; i++)
        {
            if (terminal[i])
            {
                values[i] = 0;
            }
        }
        return values;
    }

    private static double[] MeanAgainstCoverage(ITransitionObjective reward, double[] states, bool[] terminal, int n, ReadOnlySpan<double> cov, ReadOnlySpan<bool> covTerminal, int m, int f)
    {
        // Rows per chunk: keep each batch near 64k transitions.
        var rowsPerChunk = Math.Max(1, 65536 / m);
        var from = new double[rowsPerChunk * m * f];
        var fromTerminal = new bool[rowsPerChunk * m];
        var to = new double[rowsPerChunk * m * f];
        var toTerminal = new bool[rowsPerChunk * m];
        for (var r = 0; r < rowsPerChunk; r++)
        {
            cov.CopyTo(to.AsSpan(r * m * f, m * f));
            covTerminal.CopyTo(toTerminal.AsSpan(r * m, m));
        }
        var rewards = new double[rowsPerChunk * m];
        var means = new double[n];
        for (var start = 0; start < n; start += rowsPerChunk)
        {
            var rows = Math.Min(rowsPerChunk, n - start);
            for (var r = 0; r < rows; r++)
            {
                var x = states.AsSpan((start + r) * f, f);
                for (var j = 0; j < m; j++)
                {
                    x.CopyTo(from.AsSpan((r * m + j) * f, f));
                }
                fromTerminal.AsSpan(r * m, m).Fill(terminal[start + r]);
            }
            var count = rows * m;
            reward.Evaluate(from.AsSpan(0, count * f), fromTerminal.AsSpan(0, count), to.AsSpan(0, count * f), toTerminal.AsSpan(0, count), rewards.AsSpan(0, count));
            for (var r = 0; r < rows; r++)
            {
                var sum = 0.0;
                foreach (var v in rewards.AsSpan(r * m, m))
                {
                    sum += v;
                }
                means[start + r] = sum / m;
            }
        }
        return means;
    }

    private static double Pearson(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length || x.Length == 0)
        {
            throw new ArgumentException("Pearson needs two non-empty vectors of equal length");
        }
        double mx = 0, my = 0;
        for (var i = 0; i < x.Length; i++)
        {
            mx += x[i];
            my += y[i];
        }
        mx /= x.Length;
        my /= y.Length;
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var dx = x[i] - mx;
            var dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        // Relative threshold: canonicalization leaves rounding noise ~1e-16 of the scale.
        var scale = Math.Max(1e-300, Math.Max(Magnitude(x), Magnitude(y)));
        var constX = sxx <= 1e-20 * scale * scale * x.Length;
        var constY = syy <= 1e-20 * scale * scale * y.Length;
        if (constX || constY)
        {
            return constX && constY ? 1.0 : 0.0;
        }
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1.0, 1.0);
    }

    private static double Magnitude(ReadOnlySpan<double> x)
    {
        var max = 0.0;
        foreach (var v in x)
        {
            max = Math.Max(max, Math.Abs(v));
        }
        return max;
    }
}
