namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>A path for a SQLite file in a new temp folder, deleted with the folder on dispose.</summary>
public sealed class TempDatabase : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("bendcare-reference-tests-").FullName;

    public string Path => System.IO.Path.Combine(_directory, "rbac.db");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
