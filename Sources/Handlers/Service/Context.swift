import Logging
import MariaStore

/// Everything a handler may use besides the request, owned by one worker thread.
public struct Context {
    /// The worker's own database connection.
    public let store: Store
    public let clock: any TimeSource
    public let configuration: Configuration
    public var logger: Logger
    public let random: SecureRandom
    /// Stripe's REST API, as configured.
    public var stripe: StripeClient

    /// `stripeGate` bounds the Stripe calls of every worker of the process together; each
    /// context gets its own when none is shared (one thread, as on the command line).
    public init(
        store: Store, clock: any TimeSource, configuration: Configuration, logger: Logger, random: SecureRandom = SecureRandom(),
        stripeGate: StripeCallGate? = nil
    ) {
        self.store = store
        self.clock = clock
        self.configuration = configuration
        self.logger = logger
        self.random = random
        self.stripe = StripeClient(
            configuration: configuration.stripe,
            gate: stripeGate ?? StripeCallGate(limit: configuration.stripe.concurrentCalls))
    }
}
