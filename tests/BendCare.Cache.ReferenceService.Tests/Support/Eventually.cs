namespace BendCare.Cache.ReferenceService.Tests.Support;

/// <summary>Polls something a user can see until it holds, for the steps that take time by design (recovery, write-backs).</summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan limit, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not within {limit.TotalSeconds:0} s: {failure()}");
            }

            await Task.Delay(50);
        }
    }
}
