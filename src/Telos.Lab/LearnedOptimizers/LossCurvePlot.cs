using ScottPlot;
using Telos.Learning.LearnedOptimizers;

namespace Telos.Lab.LearnedOptimizers;

/// <summary>Loss-vs-step plots (log y) of several optimizers: mean over problems with a shaded 95 % CI.</summary>
public static class LossCurvePlot
{
    /// <summary>
    /// Renders <paramref name="curves"/> as a PNG (<paramref name="width"/>×<paramref name="height"/> pixels).
    /// The y axis shows log10 of the loss with labels in loss units; CI bounds at or below zero are drawn at
    /// a tenth of the mean (a log axis cannot show them).
    /// </summary>
    public static byte[] Png(string title, IReadOnlyList<LossCurves> curves, int width = 900, int height = 560)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i];
            var xs = new double[c.Steps + 1];
            var mean = new double[c.Steps + 1];
            var low = new double[c.Steps + 1];
            var high = new double[c.Steps + 1];
            for (var t = 0; t <= c.Steps; t++)
            {
                var (m, half) = c.MeanWithCi(t);
                xs[t] = t;
                var safeMean = double.IsFinite(m) && m > 0 ? m : double.Epsilon;
                mean[t] = Math.Log10(safeMean);
                low[t] = Math.Log10(m - half > 0 ? m - half : safeMean / 10);
                high[t] = Math.Log10(double.IsFinite(m + half) && m + half > 0 ? m + half : safeMean);
            }
            var color = palette.GetColor(i);
            var band = plot.Add.FillY(xs, low, high);
            band.FillColor = color.WithAlpha(0.2);
            band.LineWidth = 0;
            var line = plot.Add.Scatter(xs, mean);
            line.Color = color;
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = c.Optimizer;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss (mean, 95% CI)");
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
        };
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }
}
