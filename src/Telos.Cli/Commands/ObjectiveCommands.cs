using System.Collections.Immutable;
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.IO;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning.Exact;
using Telos.Randomness;

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
        public readonly Option<int?> Size = new("--size") { Description = "Maze: odd side 3..25 (default 13). Keys & chests: room side (default 9)" };
        public readonly Option<int> Region = new("--region") { Description = "maze/train: side of the top-right cheese region (1 = corner)", DefaultValueFactory = _ => 1 };
        public readonly Option<int> Levels = new("--levels") { Description = "Levels drawn from the distribution", DefaultValueFactory = _ => 20 };
        public readonly Option<int> Samples = new("--samples") { Description = "Transitions per level (random walks from uniformly drawn states)", DefaultValueFactory = _ => 200 };
        public readonly Option<long> Seed = new("--seed") { Description = "Root seed: data, initialization, labels", DefaultValueFactory = _ => 0 };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Size, Region, Levels, Samples, Seed })
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
        var lr = new Option<double?>("--lr") { Description = "Adam learning rate (default 0.05; 0.01 for the net form)" };
        var keep = new Option<int>("--keep") { Description = "sparse: features kept (top-k)", DefaultValueFactory = _ => 3 };
        var signs = new Option<string?>("--signs") { Description = "monotone: declared signs, e.g. at_cheese=+,path_dist_to_cheese=-" };
        var hidden = new Option<string>("--hidden") { Description = "convex/net: hidden widths, e.g. 32,32", DefaultValueFactory = _ => "32,32" };
        var gamma = new Option<double>("--gamma") { Description = "Discount (shaping, TD, IRL)", DefaultValueFactory = _ => 0.99 };
        var lambda = new Option<double>("--lambda") { Description = "td: λ", DefaultValueFactory = _ => 0.9 };
        var reference = new Option<string?>("--reference") { Description = "prefs/demos: card of the reference objective driving the synthetic labeller or demonstrator (default for mazes: the true reward, at_cheese = 10)" };
        var pairs = new Option<int>("--pairs") { Description = "prefs: labelled segment pairs", DefaultValueFactory = _ => 500 };
        var segment = new Option<int>("--segment") { Description = "prefs: transitions per segment", DefaultValueFactory = _ => 4 };
        var demos = new Option<int>("--demos") { Description = "demos, soft demonstrator: Boltzmann-rational demonstrations per level from its start", DefaultValueFactory = _ => 10 };
        var demonstrator = new Option<string>("--demonstrator") { Description = "demos: soft (Boltzmann-rational, τ = 1, from the start) | optimal (exact finite-horizon Q*, ties broken by --seed, one from every state)", DefaultValueFactory = _ => "soft" };
        var from = new Option<string?>("--from") { Description = "goal: the card to regress toward the goal" };
        var labels = new Option<string[]>("--label") { Description = "goal: a labelled state SEED:X,Y=VALUE (level seed of --on, procgen x/y of the cell)", AllowMultipleArgumentsPerToken = false };
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
            var distribution = result.GetValue(on)!;
            var family = TaskDistributions.FamilyOf(distribution);
            var seed = result.GetValue(data.Seed);
            var objectiveForm = ObjectiveCard.ParseForm(result.GetValue(form)!, "--form");
            var learningRate = result.GetValue(lr) ?? (objectiveForm == ObjectiveForm.Net ? 0.01 : 0.05);
            if (!(learningRate > 0) || !double.IsFinite(learningRate))
            {
                throw new TelosInputException($"--lr {learningRate} must be a positive number");
            }
            var training = new TrainingOptions(Positive(result.GetValue(steps), "--train-steps"), learningRate, seed);
            var formOptions = new FormOptions(result.GetValue(keep), 0.01, ParseSigns(result.GetValue(signs)), ParseHidden(result.GetValue(hidden)), result.GetValue(gamma));
            var path = result.GetValue(output)!;
            var levels = Positive(result.GetValue(data.Levels), "--levels");
            var samples = Positive(result.GetValue(data.Samples), "--samples");
            var size = result.GetValue(data.Size);
            var region = result.GetValue(data.Region);
            ObjectiveCard card;
            TrainableObjective? module;
            switch (result.GetValue(signal))
            {
                case "reward":
                {
                    var sample = Sample(distribution, size, region, levels, samples, (ulong)seed, 0, objectiveForm == ObjectiveForm.Net);
                    (card, module) = ObjectiveTrainer.FitRewards(objectiveForm, sample, distribution, formOptions, training);
                    break;
                }
                case "td":
                {
                    var sample = Sample(distribution, size, region, levels, samples, (ulong)seed, 0, false);
                    (card, module) = ObjectiveTrainer.FitTdLambda(objectiveForm, sample, distribution, result.GetValue(gamma), result.GetValue(lambda), 5, formOptions, training);
                    break;
                }
                case "prefs":
                {
                    var sample = Sample(distribution, size, region, levels, samples, (ulong)seed, 0, objectiveForm == ObjectiveForm.Net);
                    var referenceCard = Reference(result.GetValue(reference), family);
                    var labelled = PreferencePairs.Synthetic(sample, Positive(result.GetValue(segment), "--segment"), Positive(result.GetValue(pairs), "--pairs"), referenceCard.Transition(), 0.0, (ulong)seed);
                    (card, module) = ObjectiveTrainer.FitPreferences(objectiveForm, labelled, distribution, formOptions, training);
                    break;
                }
                case "demos":
                {
                    if (objectiveForm != ObjectiveForm.Linear)
                    {
                        throw new TelosInputException($"--signal demos trains the linear form (MaxEnt IRL over features); got --form {ObjectiveCard.FormName(objectiveForm)}");
                    }
                    var optimal = result.GetValue(demonstrator) switch
                    {
                        "soft" => false,
                        "optimal" => true,
                        var other => throw new TelosInputException($"--demonstrator '{other}' is not known; expected soft or optimal"),
                    };
                    var referenceCard = Reference(result.GetValue(reference), family);
                    card = family == "maze"
                        ? Irl(Enumerable.Range(0, levels).Select(l => (IEnumerableEnvironment<MazeState>)MazeOf(distribution, size, region).Level(l)).ToArray(), referenceCard, result.GetValue(demos), optimal, result.GetValue(gamma), result.GetValue(steps), learningRate, seed, distribution)
                        : Irl(Enumerable.Range(0, levels).Select(l => (IEnumerableEnvironment<KeysAndChestsState>)KcOf(distribution, size).Level(l)).ToArray(), referenceCard, result.GetValue(demos), optimal, result.GetValue(gamma), result.GetValue(steps), learningRate, seed, distribution);
                    module = null;
                    break;
                }
                case "goal":
                {
                    var fromPath = result.GetValue(from) ?? throw new TelosInputException("--signal goal needs --from CARD (the objective to regress)");
                    var current = ObjectiveFiles.Load(fromPath);
                    var (x, y) = Labels(result.GetValue(labels) ?? [], distribution, size, region, current.Card);
                    var anchorSample = Sample(distribution, size, region, levels, samples, (ulong)seed, 0, false);
                    var anchorRows = Select(anchorSample, current.Card.Features);
                    card = ObjectiveTrainer.RegressTowardGoal(current, x, y, anchorRows, result.GetValue(anchor), training);
                    module = current.Module;
                    break;
                }
                default:
                    throw new TelosInputException($"--signal '{result.GetValue(signal)}' is not known; expected reward, goal, prefs, demos or td");
            }
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
        var size = new Option<int?>("--size") { Description = "Maze side (default 13)" };
        var cell = new Option<string?>("--cell") { Description = "X,Y of a maze cell: print per-feature contributions there" };
        var command = new Command("show", "Print an objective's card: form, named weights, provenance, history") { file };
        command.Options.Add(env);
        command.Options.Add(seed);
        command.Options.Add(size);
        command.Options.Add(cell);
        command.SetAction(result =>
        {
            var loaded = ObjectiveFiles.Load(result.GetValue(file)!);
            var card = loaded.Card;
            IReadOnlyList<FeatureContribution>? contributions = null;
            if (result.GetValue(cell) is { } at)
            {
                var distribution = result.GetValue(env) ?? throw new TelosInputException("--cell needs --env (a maze distribution)");
                var maze = MazeOf(distribution, result.GetValue(size), 1).Level(result.GetValue(seed));
                ObjectiveCardFile.RequireFeatures(card, maze.Features, maze.Name, loaded.Source);
                var row = new double[maze.Features.Count];
                maze.WriteFeatures(new MazeState(CellOf(maze, at, "--cell"), 0), row);
                contributions = card.Contributions(card.Features.Select(f => row[maze.Features.IndexOf(f)]).ToArray());
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
            var sample = Sample(distribution, result.GetValue(data.Size), result.GetValue(data.Region), Positive(result.GetValue(data.Levels), "--levels"), Positive(result.GetValue(data.Samples), "--samples"), (ulong)result.GetValue(data.Seed), 0, false);
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
        var env = new Option<string>("--env") { Description = "Maze distribution of the level", Required = true };
        var seed = new Option<long>("--seed") { Description = "Level seed", DefaultValueFactory = _ => 0 };
        var size = new Option<int?>("--size") { Description = "Maze side (default 13)" };
        var region = new Option<int>("--region") { Description = "maze/train: cheese region side", DefaultValueFactory = _ => 1 };
        var pixels = new Option<int>("--cell-pixels") { Description = "Pixels per cell", DefaultValueFactory = _ => 16 };
        var output = new Option<string>("--output", "-o") { Description = "PNG file to write", Required = true };
        var command = new Command("heatmap", "Draw the objective's value over every cell of a maze level (PNG)") { file };
        foreach (var option in new Option[] { env, seed, size, region, pixels, output })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            var loaded = ObjectiveFiles.Load(result.GetValue(file)!);
            var distribution = result.GetValue(env)!;
            if (TaskDistributions.FamilyOf(distribution) != "maze")
            {
                throw new TelosInputException($"--env {distribution}: heatmaps draw maze levels (cells); use a maze distribution");
            }
            var maze = MazeOf(distribution, result.GetValue(size), result.GetValue(region)).Level(result.GetValue(seed));
            var heatmap = ObjectiveHeatmap.Maze(maze, loaded.Evaluator(maze), result.GetValue(pixels));
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

    private static MazeDistribution MazeOf(string distribution, int? size, int region) =>
        TaskDistributions.FamilyOf(distribution) == "maze"
            ? TaskDistributions.Maze(distribution, size ?? MazeDistribution.DefaultSize, region)
            : throw new TelosInputException($"'{distribution}' is not a maze distribution");

    private static KeysAndChestsDistribution KcOf(string distribution, int? size) =>
        TaskDistributions.KeysAndChests(distribution, size ?? KeysAndChestsDistribution.DefaultSize);

    /// <summary>Random-walk transitions from uniformly drawn states; episodes cut at 2·side steps so walks spread.</summary>
    private static TransitionSample Sample(string distribution, int? size, int region, int levels, int perLevel, ulong seed, long firstSeed, bool observations)
    {
        if (TaskDistributions.FamilyOf(distribution) == "maze")
        {
            var mazes = MazeOf(distribution, size, region);
            return TransitionSample.Collect<MazeState>(s => mazes.Level(s), levels, perLevel, seed, firstSeed, 2 * mazes.Size, uniformStarts: true, observations);
        }
        var kc = KcOf(distribution, size);
        return TransitionSample.Collect<KeysAndChestsState>(s => kc.Level(s), levels, perLevel, seed, firstSeed, 4 * kc.Size, uniformStarts: true, observations);
    }

    private static LoadedObjective Reference(string? path, string family)
    {
        if (path is not null)
        {
            return ObjectiveFiles.Load(path);
        }
        if (family != "maze")
        {
            throw new TelosInputException($"--reference CARD is needed for {family} (the default reference is the maze's true reward)");
        }
        var truth = ObjectiveCard.Linear([new("at_cheese", Maze.CheeseReward)], provenance: new Provenance("manual", "maze", "", 0, 0, ImmutableSortedDictionary<string, double>.Empty));
        return new LoadedObjective(truth, null, "the maze's true reward");
    }

    /// <summary>
    /// MaxEnt IRL against demonstrations of <paramref name="reference"/>: soft (Boltzmann-rational, τ = 1,
    /// <paramref name="perLevel"/> from each level's start) or optimal (exact finite-horizon Q* with the
    /// fit's γ and H, ties broken by the seed, one from every state that is not absorbing).
    /// </summary>
    private static ObjectiveCard Irl<TState>(IReadOnlyList<IEnumerableEnvironment<TState>> levels, LoadedObjective reference, int perLevel, bool optimal, double gamma, int iterations, double lr, long seed, string on)
        where TState : struct
    {
        var features = levels[0].Features.Names.ToImmutableArray();
        var horizon = Math.Max(4, levels[0].StepLimit > 0 ? Math.Min(levels[0].StepLimit, 4 * (int)Math.Sqrt(levels[0].StateCount) + 8) : 40);
        var options = new MaxEntIrlOptions(gamma, 1.0, horizon, iterations, lr * 2);
        var rng = Seeds.Stream((ulong)seed, "demonstrations");
        var demos = new List<Demonstration>();
        for (var l = 0; l < levels.Count; l++)
        {
            var mdp = TabularMdp.FromEnvironment(levels[l]);
            var reward = TabularMdp.EvaluateStates(levels[l], reference.Evaluator(levels[l]));
            if (optimal)
            {
                var q = MaxEntIrl.OptimalActionValues(mdp, reward, gamma, horizon);
                for (var s = 0; s < mdp.StateCount; s++)
                {
                    if (!Absorbing(mdp, s))
                    {
                        demos.Add(MaxEntIrl.OptimalDemonstration(mdp, q, l, s, ref rng));
                    }
                }
                continue;
            }
            var solution = ValueIteration.SolveSoft(mdp, reward, gamma, 1.0, horizon);
            var start = levels[l].IndexOf(levels[l].Initial);
            for (var k = 0; k < perLevel; k++)
            {
                demos.Add(MaxEntIrl.SoftDemonstration(mdp, solution, l, start, ref rng));
            }
        }
        var (card, _) = MaxEntIrl.Fit(levels, demos, features, options);
        return card with { Provenance = card.Provenance with { On = on, Seed = seed } };
    }

    /// <summary>Every legal action of <paramref name="state"/> ends the episode where it is (the maze's cheese): nothing to demonstrate.</summary>
    private static bool Absorbing(TabularMdp mdp, int state)
    {
        for (var a = 0; a < mdp.ActionCount; a++)
        {
            var next = mdp.Next(state, a);
            if (next >= 0 && (next != state || !mdp.Ends(state, a)))
            {
                return false;
            }
        }
        return true;
    }

    private static (double[] X, double[] Y) Labels(string[] labels, string distribution, int? size, int region, ObjectiveCard card)
    {
        if (labels.Length == 0)
        {
            throw new TelosInputException("--signal goal needs at least one --label SEED:X,Y=VALUE");
        }
        var mazes = MazeOf(distribution, size, region);
        var x = new List<double>();
        var y = new List<double>();
        foreach (var label in labels)
        {
            var colon = label.IndexOf(':');
            var eq = label.IndexOf('=');
            if (colon <= 0 || eq < colon || !long.TryParse(label[..colon], CultureInfo.InvariantCulture, out var levelSeed)
                || !double.TryParse(label[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            {
                throw new TelosInputException($"--label '{label}': expected SEED:X,Y=VALUE, e.g. 0:12,12=10");
            }
            var maze = mazes.Level(levelSeed);
            ObjectiveCardFile.RequireFeatures(card, maze.Features, maze.Name, "card");
            var row = new double[maze.Features.Count];
            maze.WriteFeatures(new MazeState(CellOf(maze, label[(colon + 1)..eq], "--label"), 0), row);
            x.AddRange(card.Features.Select(f => row[maze.Features.IndexOf(f)]));
            y.Add(value);
        }
        return (x.ToArray(), y.ToArray());
    }

    private static double[] Select(TransitionSample sample, ImmutableArray<string> features)
    {
        var columns = features.Select(sample.Features.Require).ToArray();
        var f = sample.Features.Count;
        var rows = new double[sample.Count * columns.Length];
        for (var i = 0; i < sample.Count; i++)
        {
            for (var k = 0; k < columns.Length; k++)
            {
                rows[i * columns.Length + k] = sample.From[i * f + columns[k]];
            }
        }
        return rows;
    }

    private static int CellOf(Maze maze, string xy, string option)
    {
        var parts = xy.Split(',');
        if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var x) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var y)
            || x < 0 || y < 0 || x >= maze.Size || y >= maze.Size)
        {
            throw new TelosInputException($"{option} '{xy}': expected X,Y with 0 ≤ X, Y < {maze.Size} (x from the left, y from the bottom)");
        }
        var cell = (maze.Size - 1 - y) * maze.Size + x;
        return maze.IsOpen(cell) ? cell : throw new TelosInputException($"{option} '{xy}' is a wall in this level");
    }

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
