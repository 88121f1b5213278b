using System.CommandLine;
using System.CommandLine.Help;
using Spectre.Console;

namespace Telos.Cli;

/// <summary>Builds the <c>telos</c> command tree and runs it with Telos's exit-code conventions.</summary>
public static class TelosApp
{
    /// <summary>
    /// Runs the command line against the real console. An exception escaping on another thread (which
    /// .NET would turn into an abort) is reported like one on this thread and exits 1.
    /// </summary>
    public static int Run(string[] args)
    {
        var runsRoot = Environment.GetEnvironmentVariable("TELOS_RUNS") ?? Path.Combine(Directory.GetCurrentDirectory(), "runs");
        var context = new CliContext(AnsiConsole.Console, System.Console.Error, runsRoot);
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            if (e.ExceptionObject is Exception exception)
            {
                Environment.Exit(Report(context, exception));
            }
        };
        return Run(args, context);
    }

    /// <summary>Runs the command line against <paramref name="context"/> (tests pass a TestConsole).</summary>
    public static int Run(string[] args, CliContext context) => Guarded(context, () =>
    {
        var root = BuildRoot(context);
        var result = root.Parse(args);
        if (result.Errors.Count > 0 && !WantsHelp(args))
        {
            foreach (var error in result.Errors)
            {
                context.Error.WriteLine("error: " + error.Message);
            }
            return ExitCodes.InputError;
        }
        if (result.Action is HelpAction)
        {
            // Help opens with the usage line, as Unix tools' do: "Usage: telos env [command] [options]".
            var help = new StringWriter();
            var code = result.Invoke(new InvocationConfiguration { Output = help, Error = context.Error, EnableDefaultExceptionHandler = false });
            context.Console.Profile.Out.Writer.Write(UsageFirst(help.ToString()));
            return code;
        }
        return result.Invoke(new InvocationConfiguration
        {
            Output = context.Console.Profile.Out.Writer,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
        });
    });

    /// <summary>
    /// System.CommandLine's help text with its usage section moved to the top as one line
    /// (<c>Usage: telos [command] [options]</c>) and the description under it; other text is unchanged.
    /// </summary>
    internal static string UsageFirst(string help)
    {
        var lines = help.ReplaceLineEndings("\n").Split('\n').ToList();
        var usage = lines.IndexOf("Usage:");
        if (usage < 0 || usage + 1 >= lines.Count)
        {
            return help;
        }
        var usageLine = "Usage: " + lines[usage + 1].Trim();
        lines.RemoveRange(usage, usage + 2 < lines.Count && lines[usage + 2].Length == 0 ? 3 : 2);
        var description = lines.IndexOf("Description:");
        if (description >= 0)
        {
            lines.RemoveAt(description);
        }
        lines.Insert(0, usageLine);
        lines.Insert(1, "");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>
    /// Runs <paramref name="body"/> under Telos's error convention: bad input (a <see cref="TelosInputException"/>,
    /// also when it is the only exception inside an <see cref="AggregateException"/>) prints <c>error: MESSAGE</c>
    /// and returns 2; any other exception prints one line naming the file that holds its stack trace
    /// (see <see cref="CrashLog"/>) and returns 1.
    /// </summary>
    internal static int Guarded(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            return Report(context, e);
        }
    }

    private static int Report(CliContext context, Exception e)
    {
        if (InputError(e) is { } input)
        {
            context.Error.WriteLine("error: " + input.Message);
            return ExitCodes.InputError;
        }
        var where = CrashLog.Write(context.RunsRoot, e);
        var message = e.Message.ReplaceLineEndings(" ").Trim();
        context.Error.WriteLine(where is null
            ? $"error: unexpected {e.GetType().Name}: {message} (the stack trace could not be saved)"
            : $"error: unexpected {e.GetType().Name}: {message} (stack trace in {where})");
        return ExitCodes.Failure;
    }

    private static TelosInputException? InputError(Exception e) => e switch
    {
        TelosInputException input => input,
        AggregateException aggregate when aggregate.Flatten().InnerExceptions is [TelosInputException input] => input,
        System.Reflection.TargetInvocationException { InnerException: { } inner } => InputError(inner),
        TypeInitializationException { InnerException: { } inner } => InputError(inner),
        _ => null,
    };

    /// <summary>The name help and usage give the command, however the process was started.</summary>
    public const string CommandName = "telos";

    /// <summary>The whole command tree; each domain adds its commands from its own file.</summary>
    /// <remarks>
    /// Not a <see cref="RootCommand"/>: that one is named after the executable, which is
    /// <c>Telos.Cli</c> under <c>dotnet run</c> and the installed tool, and <c>testhost</c> in tests.
    /// </remarks>
    public static Command BuildRoot(CliContext context)
    {
        var root = new Command(CommandName, "Telos: agents whose optimizer is hard-coded and whose objective is learned and stays in your hands.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Options.Add(CliContext.JsonOption);
        root.Options.Add(CliContext.QuietOption);
        var groups = typeof(TelosApp).Assembly.GetTypes()
            .Where(t => typeof(ICommandGroup).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (ICommandGroup)Activator.CreateInstance(t)!)
            .OrderBy(g => g.Order)
            .ThenBy(g => g.GetType().Name, StringComparer.Ordinal);
        foreach (var group in groups)
        {
            foreach (var command in group.Create(context))
            {
                root.Subcommands.Add(command);
            }
        }
        return root;
    }

    private static bool WantsHelp(string[] args) => args.Any(a => a is "--help" or "-h" or "-?");
}
