using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Telos.Cli.Terminal;

/// <summary>How a long job shows its progress.</summary>
public enum ProgressMode
{
    /// <summary>A live bar on an interactive ANSI terminal, plain lines otherwise.</summary>
    Auto,

    /// <summary>A live Spectre.Console bar with rate and ETA.</summary>
    Bar,

    /// <summary>Plain lines every few seconds or every 10 %, readable in logs.</summary>
    Lines,

    /// <summary>Nothing (<c>--quiet</c>).</summary>
    Silent,
}

/// <summary>Runs a job with an <see cref="IProgress{T}"/> of <see cref="ProgressUpdate"/> rendered as a bar or as plain lines.</summary>
public static class ProgressDisplay
{
    /// <summary>What <see cref="ProgressMode.Auto"/> picks for <paramref name="console"/>.</summary>
    public static ProgressMode Resolve(ProgressMode mode, IAnsiConsole console) =>
        mode != ProgressMode.Auto ? mode
        : console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi ? ProgressMode.Bar
        : ProgressMode.Lines;

    /// <summary>
    /// Runs <paramref name="job"/> on this thread with a progress sink. In bar mode the bar is drawn on
    /// <paramref name="console"/>; in lines mode lines go to <paramref name="lines"/> (stderr in the CLI, so stdout
    /// stays clean for results and JSON).
    /// </summary>
    public static T Run<T>(IAnsiConsole console, TextWriter lines, ProgressMode mode, Func<IProgress<ProgressUpdate>, T> job, TimeProvider? time = null)
    {
        switch (Resolve(mode, console))
        {
            case ProgressMode.Bar:
                return console.Progress()
                    .AutoClear(false)
                    .HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RateColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(context => job(new BarProgress(context)));
            case ProgressMode.Lines:
                return job(new LineProgress(lines, time ?? TimeProvider.System));
            default:
                return job(SilentProgress.Instance);
        }
    }

    private sealed class SilentProgress : IProgress<ProgressUpdate>
    {
        public static readonly SilentProgress Instance = new();

        public void Report(ProgressUpdate value)
        {
        }
    }

    private sealed class BarProgress : IProgress<ProgressUpdate>
    {
        private readonly ProgressContext _context;
        private readonly Dictionary<string, ProgressTask> _tasks = new(StringComparer.Ordinal);
        private readonly object _gate = new();

        public BarProgress(ProgressContext context) => _context = context;

        public void Report(ProgressUpdate value)
        {
            lock (_gate)
            {
                if (!_tasks.TryGetValue(value.Task, out var task))
                {
                    task = _context.AddTask(Markup.Escape(value.Task), maxValue: Math.Max(1, value.Total));
                    _tasks[value.Task] = task;
                }
                task.IsIndeterminate = value.Total <= 0;
                if (value.Total > 0)
                {
                    task.MaxValue = value.Total;
                }
                task.Value = value.Done;
                task.Description = Markup.Escape(string.IsNullOrEmpty(value.Detail) ? value.Task : $"{value.Task}  {value.Detail}");
            }
        }
    }

    private sealed class RateColumn : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is { } speed ? LineProgress.Rate(speed) : "-", new Style(Color.Grey));
    }
}

/// <summary>
/// Plain progress lines for logs and pipes: <c>mlp-regression 1000/2000 (50%) 812/s ETA 00:01 loss 0.12</c>,
/// printed when a task crosses a 10 % mark, when <see cref="Interval"/> has passed since its last line, and when it finishes.
/// </summary>
public sealed class LineProgress : IProgress<ProgressUpdate>
{
    private readonly TextWriter _output;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, State> _tasks = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public LineProgress(TextWriter output, TimeProvider time)
    {
        _output = output;
        _time = time;
    }

    /// <summary>Longest gap between two lines of a task that is still moving.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    public void Report(ProgressUpdate value)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var first = false;
            if (!_tasks.TryGetValue(value.Task, out var state))
            {
                state = new State(now, value.Done);
                _tasks[value.Task] = state;
                first = true;
            }
            var decile = value.Total > 0 ? (int)Math.Min(10, value.Done * 10 / value.Total) : -1;
            var finished = value.Total > 0 && value.Done >= value.Total;
            var due = first || now - state.LastLine >= Interval || decile > state.LastDecile || (finished && !state.Finished);
            if (!due || (state.Finished && finished))
            {
                return;
            }
            state.LastLine = now;
            state.LastDecile = Math.Max(state.LastDecile, decile);
            state.Finished = finished;
            _output.WriteLine(Format(value, state, now));
            _output.Flush();
        }
    }

    internal static string Rate(double perSecond) => perSecond switch
    {
        >= 100 => perSecond.ToString("F0", CultureInfo.InvariantCulture) + "/s",
        >= 1 => perSecond.ToString("F1", CultureInfo.InvariantCulture) + "/s",
        _ => perSecond.ToString("G2", CultureInfo.InvariantCulture) + "/s",
    };

    private static string Format(ProgressUpdate value, State state, DateTimeOffset now)
    {
        var elapsed = (now - state.Started).TotalSeconds;
        var doneHere = value.Done - state.FirstDone;
        var rate = elapsed > 0 ? doneHere / elapsed : 0;
        var text = value.Total > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{value.Task} {value.Done}/{value.Total} ({100.0 * value.Done / value.Total:F0}%)")
            : string.Create(CultureInfo.InvariantCulture, $"{value.Task} {value.Done}");
        if (rate > 0)
        {
            text += " " + Rate(rate);
            if (value.Total > 0 && value.Done < value.Total)
            {
                text += " ETA " + Duration(TimeSpan.FromSeconds((value.Total - value.Done) / rate));
            }
        }
        if (!string.IsNullOrEmpty(value.Detail))
        {
            text += " " + value.Detail;
        }
        return text;
    }

    private static string Duration(TimeSpan span) =>
        span.TotalHours >= 1 ? $"{(int)span.TotalHours}:{span.Minutes:D2}:{span.Seconds:D2}" : $"{span.Minutes:D2}:{span.Seconds:D2}";

    private sealed class State(DateTimeOffset started, long firstDone)
    {
        public DateTimeOffset Started { get; } = started;

        public long FirstDone { get; } = firstDone;

        public DateTimeOffset LastLine { get; set; } = started;

        public int LastDecile { get; set; } = -1;

        public bool Finished { get; set; }
    }
}
