namespace BendCare.Cache.Connection;

/// <summary>Why Redis could not be used, in the words an operator searches logs for.</summary>
internal enum FailureReason
{
    Unknown,
    Refused,
    Timeout,
    Auth,
    Tls,
    Dns,
    Disconnected,
    Permission,
    Server,

    /// <summary>The credentials provider threw, returned nothing or did not answer in time.</summary>
    Credentials,
}
