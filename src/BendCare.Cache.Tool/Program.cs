// bendcare-cache: the BendCare.Cache command-line tool. `bendcare-cache check` tests the configured connection.
using System.Reflection;
using BendCare.Cache.Tool;

const string Usage = """
    usage: bendcare-cache check

    Tests the Redis/Valkey connection a BendCare.Cache service would use, configured the same way: REDIS_HOST,
    REDIS_PORT, REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS and BendCareCache__* environment variables (for example
    BendCareCache__ConnectTimeout=00:00:02). Prints the endpoint (password masked), TLS, user, server product and
    version, cluster or standalone, the PING round trip and a SET/GET/DEL probe.
    Exit code 0 when the cache can be used; 1 otherwise, with a one-line reason: FAILED (reason): ...
    """;

switch (args)
{
    case ["check"]:
        return await ConnectionCheckCommand.RunAsync().ConfigureAwait(false);
    case ["--help" or "-h" or "help"]:
        Console.WriteLine(Usage);
        return 0;
    case ["--version"]:
        Console.WriteLine(typeof(ConnectionCheckCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
        return 0;
    case []:
        Console.Error.WriteLine(Usage);
        return 1;
    default:
        Console.Error.WriteLine($"FAILED: unknown arguments '{string.Join(' ', args)}' (run 'bendcare-cache check', or 'bendcare-cache --help')");
        return 1;
}
