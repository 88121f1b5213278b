return Telos.Cli.TelosApp.Run(args);
