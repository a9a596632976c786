namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Binds <see cref="SharedRedisFixture"/> to the collection <see cref="SharedRedisFixture.CollectionName"/>.</summary>
[CollectionDefinition(SharedRedisFixture.CollectionName)]
public sealed class SharedRedisCollectionDefinition : ICollectionFixture<SharedRedisFixture>
{
}
