using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.IO;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Cli.Commands;

/// <summary>
/// <c>telos objective train|show|edit|diff|epic|heatmap</c>: learned objectives you can read, edit,
/// compare and draw. Every training run is deterministic given <c>--seed</c>.
/// </summary>
public sealed class ObjectiveCommands : ICommandGroup
{
    public int Order => 30;

    public IEnumerable<Command> Create(CliContext context)
    {
        var objective = new Command("objective", "Learned objectives: train, read (show, heatmap), edit, diff, EPIC distance");
        objective.Subcommands.Add(Train(context));
        objective.Subcommands.Add(Show(context));
        objective.Subcommands.Add(Edit(context));
        objective.Subcommands.Add(Diff(context));
        objective.Subcommands.Add(EpicCommand(context));
        objective.Subcommands.Add(Heatmap(context));
        yield return objective;
    }

    // ---- options shared by the data-collecting commands ----

    private sealed class DataOptions
    {
        public readonly DistributionOptions Parameters = new();
        public readonly Option<int> Levels = new("--levels") { Description = "Levels drawn from the distribution", DefaultValueFactory = _ => 20 };
        public readonly Option<int> Samples = new("--samples") { Description = "Transitions per level (random walks from uniformly drawn states)", DefaultValueFactory = _ => 200 };
        public readonly Option<long> Seed = new("--seed") { Description = "Root seed: data, initialization, labels", DefaultValueFactory = _ => 0 };

        public void AddTo(Command command)
        {
            Parameters.AddTo(command);
            foreach (var option in new Option[] { Levels, Samples, Seed })
            {
                command.Options.Add(option);
            }
        }
    }

    private static Command Train(CliContext context)
    {
        var signal = new Option<string>("--signal") { Description = "reward | goal | prefs | demos | td", DefaultValueFactory = _ => "reward" };
        var form = new Option<string>("--form") { Description = "linear | sparse | monotone | convex | shaped | net", DefaultValueFactory = _ => "linear" };
        var on = new Option<string>("--on") { Description = "Task distribution of the data, e.g. maze/train", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "Card file to write (JSON; neural forms add FILE.safetensors)", Required = true };
        var steps = new Option<int>("--train-steps") { Description = "Optimizer steps (IRL: gradient steps on θ)", DefaultValueFactory = _ => 500 };
        var lr = new Option<double?>("--lr") { Description = "Step size, used as given (default: 0.05 Adam; 0.01 Adam for the net form; 0.1 gradient ascent for demos)" };
        var keep = new Option<int>("--keep") { Description = "sparse: features kept (top-k)", DefaultValueFactory = _ => 3 };
        var signs = new Option<string?>("--signs") { Description = "monotone: declared signs, e.g. at_cheese=+,path_dist_to_cheese=-" };
        var hidden = new Option<string>("--hidden") { Description = "convex/net: hidden widths, e.g. 32,32", DefaultValueFactory = _ => "32,32" };
        var gamma = new Option<double>("--gamma") { Description = "Discount (shaping, TD, IRL)", DefaultValueFactory = _ => 0.99 };
        var lambda = new Option<double>("--lambda") { Description = "td: λ", DefaultValueFactory = _ => 0.9 };
        var reference = new Option<string?>("--reference") { Description = "prefs/demos: the reference objective driving the synthetic labeller or demonstrator: a card file or a family reference (default: the family's true reward)" };
        var pairs = new Option<int>("--pairs") { Description = "prefs: labelled segment pairs", DefaultValueFactory = _ => 500 };
        var segment = new Option<int>("--segment") { Description = "prefs: transitions per segment", DefaultValueFactory = _ => 4 };
        var demos = new Option<int>("--demos") { Description = "demos, soft demonstrator: Boltzmann-rational demonstrations per level from its start", DefaultValueFactory = _ => 10 };
        var demonstrator = new Option<string>("--demonstrator") { Description = "demos: soft (Boltzmann-rational, τ = 1, from the start) | optimal (exact finite-horizon Q*, ties broken by --seed, one from every state)", DefaultValueFactory = _ => "soft" };
        var from = new Option<string?>("--from") { Description = "goal: the card to regress toward the goal" };
        var labels = new Option<string[]>("--label") { Description = "goal: a labelled state SEED:X,Y=VALUE (level seed of --on, procgen x/y of the cell; the rest of the state as at the start)", AllowMultipleArgumentsPerToken = false };
        var anchor = new Option<double>("--anchor") { Description = "goal: weight λ of the anchor keeping other states' values", DefaultValueFactory = _ => 1.0 };
        var data = new DataOptions();
        var command = new Command("train", "Train an objective of a declared form from a signal");
        foreach (var option in new Option[] { signal, form, on, output, steps, lr, keep, signs, hidden, gamma, lambda, reference, pairs, segment, demos, demonstrator, from, labels, anchor })
        {
            command.Options.Add(option);
        }
        data.AddTo(command);
        command.SetAction(result =>
        {
            var objectiveForm = ObjectiveCard.ParseForm(result.GetValue(form)!, "--form");
            var request = new ObjectiveTrainingRequest(
                ObjectiveTraining.ParseSignal(result.GetValue(signal)!), objectiveForm, result.GetValue(on)!, data.Parameters.Read(result),
                result.GetValue(data.Levels), result.GetValue(data.Samples), result.GetValue(data.Seed), result.GetValue(steps), result.GetValue(lr),
                new FormOptions(result.GetValue(keep), 0.01, ParseSigns(result.GetValue(signs)), ParseHidden(result.GetValue(hidden)), result.GetValue(gamma)),
                result.GetValue(lambda), result.GetValue(reference), result.GetValue(pairs), result.GetValue(segment), result.GetValue(demos),
                ObjectiveTraining.ParseDemonstrator(result.GetValue(demonstrator)!), result.GetValue(from),
                [.. (result.GetValue(labels) ?? []).Select(l => GoalLabel.Parse(l))], result.GetValue(anchor));
            var path = result.GetValue(output)!;
            var (card, module) = ObjectiveTraining.Train(request);
            card = ObjectiveFiles.Save(card, module, path);
            if (CliContext.Json(result))
            {
                context.WriteLine(ObjectiveCardFile.ToJson(card).Trim());
            }
            else
            {
                context.WriteLine($"wrote {path} ({ObjectiveCard.FormName(card.Form)}, signal {card.Provenance.Signal}, {string.Join(", ", card.Provenance.Fit.Select(kv => $"{kv.Key} {kv.Value.ToString("G4", CultureInfo.InvariantCulture)}"))})");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "Objective card (JSON)" };
        var env = new Option<string?>("--env") { Description = "With --cell: distribution of the level whose state to explain" };
        var seed = new Option<long>("--seed") { Description = "Level seed", DefaultValueFactory = _ => 0 };
        var parameters = new DistributionOptions();
        var cell = new Option<string?>("--cell") { Description = "X,Y of a cell: print per-feature contributions in the state there (the rest as at the start)" };
        var command = new Command("show", "Print an objective's card: form, named weights, provenance, history") { file };
        command.Options.Add(env);
        command.Options.Add(seed);
        command.Options.Add(cell);
        parameters.AddTo(command);
        command.SetAction(result =>
        {
            var loaded = ObjectiveFiles.Load(result.GetValue(file)!);
            var card = loaded.Card;
            IReadOnlyList<FeatureContribution>? contributions = null;
            if (result.GetValue(cell) is { } at)
            {
                var distribution = result.GetValue(env) ?? throw new TelosInputException("--cell needs --env (a distribution whose states stand on cells)");
                var (x, y) = GoalLabel.Cell(at, "--cell");
                contributions = ObjectiveViews.ContributionsAt(loaded, distribution, parameters.Read(result), result.GetValue(seed), x, y);
            }
            if (CliContext.Json(result))
            {
                var json = ObjectiveCardFile.ToJson(card).Trim();
                context.WriteLine(contributions is null ? json : JsonSerializer.Serialize(new
                {
                    card = JsonDocument.Parse(json).RootElement,
                    contributions = contributions.Select(c => new { feature = c.Feature, weight = c.Weight, value = c.Value, contribution = c.Contribution }),
                }));
                return ExitCodes.Success;
            }
            var head = new Table().AddColumn("field").AddColumn("value");
            head.AddRow("form", ObjectiveCard.FormName(card.Form));
            head.AddRow("revision", card.Revision.ToString(CultureInfo.InvariantCulture));
            head.AddRow("provenance", Markup.Escape($"signal {card.Provenance.Signal}, on {card.Provenance.On}, data {card.Provenance.DataHash}, {card.Provenance.TrainingSteps} steps, seed {card.Provenance.Seed}"));
            head.AddRow("fit", Markup.Escape(string.Join(", ", card.Provenance.Fit.Select(kv => $"{kv.Key} {F(kv.Value)}"))));
            if (card.IsLinear)
            {
                head.AddRow("bias", F(card.Bias));
            }
            if (card.Network is { } net)
            {
                head.AddRow("network", Markup.Escape($"{net.Input}, hidden [{string.Join(", ", net.Hidden)}], weights {card.WeightsFile}"));
            }
            if (card.Form == ObjectiveForm.Shaped)
            {
                head.AddRow("gamma", F(card.Gamma));
            }
            head.AddRow("frozen", card.Frozen ? "all" : card.FrozenFeatures.IsEmpty ? "none" : Markup.Escape(string.Join(", ", card.FrozenFeatures)));
            foreach (var p in card.Penalties)
            {
                head.AddRow("penalty", Markup.Escape($"-{F(p.Weight)}·max(0, {p.Feature} - {F(p.Above)})"));
            }
            foreach (var h in card.History)
            {
                head.AddRow("edit", Markup.Escape(h));
            }
            context.Console.Write(head);
            if (card.IsLinear)
            {
                var weights = new Table().AddColumn("feature").AddColumn(new TableColumn("weight").RightAligned());
                if (card.Form == ObjectiveForm.Monotone)
                {
                    weights.AddColumn("sign");
                }
                if (card.Form == ObjectiveForm.Shaped)
                {
                    weights.AddColumn(new TableColumn("potential").RightAligned());
                }
                foreach (var i in Enumerable.Range(0, card.Features.Length).OrderByDescending(i => Math.Abs(card.Weights[i])))
                {
                    var cells = new List<string> { Markup.Escape(card.Features[i]), F(card.Weights[i]) };
                    if (card.Form == ObjectiveForm.Monotone)
                    {
                        cells.Add(card.Signs[i] switch { 1 => "+", -1 => "-", _ => "free" });
                    }
                    if (card.Form == ObjectiveForm.Shaped)
                    {
                        cells.Add(F(card.Potential[i]));
                    }
                    weights.AddRow(cells.ToArray());
                }
                context.Console.Write(weights);
            }
            if (contributions is not null)
            {
                var table = new Table().AddColumn("feature").AddColumn("weight").AddColumn("value").AddColumn("contribution");
                foreach (var c in contributions)
                {
                    table.AddRow(Markup.Escape(c.Feature), F(c.Weight), F(c.Value), F(c.Contribution));
                }
                context.Console.Write(table);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Edit(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "Objective card to edit" };
        var set = new Option<string[]>("--set") { Description = "NAME=VALUE: set a weight" };
        var scale = new Option<string[]>("--scale") { Description = "NAME=FACTOR: multiply a weight" };
        var zero = new Option<string[]>("--zero") { Description = "NAME: zero a weight" };
        var penalty = new Option<string[]>("--penalty") { Description = "NAME=WEIGHT[@ABOVE]: subtract WEIGHT·max(0, NAME − ABOVE)" };
        var freeze = new Option<string[]>("--freeze") { Description = "NAME[,NAME] or all: training signals keep these weights (all: refuse training)" };
        var output = new Option<string>("--output", "-o") { Description = "Where to write the edited card", Required = true };
        var command = new Command("edit", "Edit a card (applied in order: --set, --scale, --zero, --penalty, --freeze); writes a new card") { file };
        foreach (var option in new Option[] { set, scale, zero, penalty, freeze, output })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            var loaded = ObjectiveFiles.Load(result.GetValue(file)!);
            var card = loaded.Card;
            foreach (var (verb, option) in new[] { ("set", set), ("scale", scale), ("zero", zero), ("penalty", penalty), ("freeze", freeze) })
            {
                foreach (var argument in result.GetValue(option) ?? [])
                {
                    card = card.Apply(verb, argument);
                }
            }
            var path = result.GetValue(output)!;
            card = ObjectiveFiles.Save(card, loaded.Module, path);
            context.WriteLine(CliContext.Json(result) ? ObjectiveCardFile.ToJson(card).Trim() : $"wrote {path} (revision {card.Revision}: {string.Join("; ", card.History.Skip(loaded.Card.History.Length))})");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Diff(CliContext context)
    {
        var a = new Argument<string>("a") { Description = "First card" };
        var b = new Argument<string>("b") { Description = "Second card" };
        var command = new Command("diff", "Field-by-field differences of two cards (weights matched by feature name)") { a, b };
        command.SetAction(result =>
        {
            var left = ObjectiveFiles.Load(result.GetValue(a)!).Card;
            var right = ObjectiveFiles.Load(result.GetValue(b)!).Card;
            var diffs = ObjectiveDiff.Compare(left, right);
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(diffs.Select(d => new { field = d.Field, name = d.Name, a = d.Left, b = d.Right, delta = double.IsNaN(d.Delta) ? (double?)null : d.Delta })));
                return ExitCodes.Success;
            }
            if (diffs.Count == 0)
            {
                context.WriteLine("no differences");
                return ExitCodes.Success;
            }
            var table = new Table().AddColumn("field").AddColumn("name").AddColumn("a").AddColumn("b").AddColumn("b − a");
            foreach (var d in diffs)
            {
                table.AddRow(Markup.Escape(d.Field), Markup.Escape(d.Name), Markup.Escape(d.Left), Markup.Escape(d.Right), double.IsNaN(d.Delta) ? "" : F(d.Delta));
            }
            context.Console.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command EpicCommand(CliContext context)
    {
        var a = new Argument<string>("a") { Description = "First card" };
        var b = new Argument<string>("b") { Description = "Second card" };
        var on = new Option<string>("--on") { Description = "Distribution whose transitions EPIC compares over, e.g. maze/test", Required = true };
        var gamma = new Option<double?>("--gamma") { Description = "γ of the shaping EPIC removes (default: a shaped card's γ, else 0.99)" };
        var data = new DataOptions();
        var command = new Command("epic", "EPIC distance (Gleave et al. 2021) between two objectives over a distribution's transitions") { a, b };
        command.Options.Add(on);
        command.Options.Add(gamma);
        data.AddTo(command);
        command.SetAction(result =>
        {
            var left = ObjectiveFiles.Load(result.GetValue(a)!);
            var right = ObjectiveFiles.Load(result.GetValue(b)!);
            var distribution = result.GetValue(on)!;
            var sample = ObjectiveData.Sample(distribution, data.Parameters.Read(result), Positive(result.GetValue(data.Levels), "--levels"), Positive(result.GetValue(data.Samples), "--samples"), (ulong)result.GetValue(data.Seed));
            ObjectiveCardFile.RequireFeatures(left.Card, sample.Features, distribution, left.Source);
            ObjectiveCardFile.RequireFeatures(right.Card, sample.Features, distribution, right.Source);
            var g = result.GetValue(gamma) ?? (left.Card.Form == ObjectiveForm.Shaped ? left.Card.Gamma : right.Card.Form == ObjectiveForm.Shaped ? right.Card.Gamma : 0.99);
            var epic = Epic.Distance(left.Transition(), right.Transition(), sample, g);
            context.WriteLine(CliContext.Json(result)
                ? JsonSerializer.Serialize(new { epic = epic.Distance, pearson = epic.Pearson, transitions = epic.Transitions, coverage = epic.CoverageStates, gamma = g })
                : $"EPIC {F(epic.Distance)} (Pearson {F(epic.Pearson)} over {epic.Transitions} transitions of {distribution}, {epic.CoverageStates} coverage states, γ {F(g)})");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Heatmap(CliContext context)
    {
        var file = new Argument<string>("file") { Description = "Objective card" };
        var env = new Option<string>("--env") { Description = "Distribution of the level (any family whose states stand on cells)", Required = true };
        var seed = new Option<long>("--seed") { Description = "Level seed", DefaultValueFactory = _ => 0 };
        var parameters = new DistributionOptions();
        var pixels = new Option<int>("--cell-pixels") { Description = "Pixels per cell", DefaultValueFactory = _ => 16 };
        var output = new Option<string>("--output", "-o") { Description = "PNG file to write", Required = true };
        var command = new Command("heatmap", "Draw the objective's value over every cell of a level (PNG): the agent on each cell, the rest of the state as at the start") { file };
        foreach (var option in new Option[] { env, seed, pixels, output })
        {
            command.Options.Add(option);
        }
        parameters.AddTo(command);
        command.SetAction(result =>
        {
            var loaded = ObjectiveFiles.Load(result.GetValue(file)!);
            var heatmap = ObjectiveViews.Heatmap(loaded, result.GetValue(env)!, parameters.Read(result), result.GetValue(seed), result.GetValue(pixels));
            var path = result.GetValue(output)!;
            AtomicFile.WriteAllBytes(path, heatmap.Image.ToPng());
            context.WriteLine(CliContext.Json(result)
                ? JsonSerializer.Serialize(new { png = path, min = heatmap.Min, max = heatmap.Max, width = heatmap.Image.Width, height = heatmap.Image.Height })
                : $"wrote {path} ({heatmap.Image.Width}×{heatmap.Image.Height}; V from {F(heatmap.Min)} to {F(heatmap.Max)})");
            return ExitCodes.Success;
        });
        return command;
    }

    // ---- helpers ----

    private static Dictionary<string, int>? ParseSigns(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var signs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=');
            var sign = eq > 0 ? part[(eq + 1)..] : "";
            signs[eq > 0 ? part[..eq] : part] = sign switch
            {
                "+" or "+1" or "1" => 1,
                "-" or "-1" => -1,
                _ => throw new TelosInputException($"--signs '{part}': expected NAME=+ or NAME=-"),
            };
        }
        return signs;
    }

    private static ImmutableArray<int> ParseHidden(string? text)
    {
        var widths = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [.. widths.Select(w => int.TryParse(w, CultureInfo.InvariantCulture, out var v) && v is > 0 and <= 4096 ? v : throw new TelosInputException($"--hidden '{text}': expected widths like 32,32 (1..4096)"))];
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new TelosInputException($"{option} {value} must be at least 1");

    private static string F(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
