namespace Telos;

/// <summary>
/// Bad input from the user: a config, file, name or value that cannot be used. The CLI prints
/// <see cref="Exception.Message"/> as one line and exits with code 2, so the message names the
/// file, line, key or field at fault and says what would be accepted.
/// </summary>
public sealed class TelosInputException : Exception
{
    public TelosInputException(string message)
        : base(message)
    {
    }

    public TelosInputException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
