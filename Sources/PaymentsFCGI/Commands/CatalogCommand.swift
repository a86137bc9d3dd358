import ArgumentParser
import Foundation
import Handlers
import MariaStore

/// `payments-fcgi catalog add|list|remove|import`: what each Stripe price grants.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Manage the catalogue: which Stripe price grants which license, credits, plan or entitlement.",
        subcommands: [Add.self, List.self, Remove.self, Import.self, Sync.self, Push.self])

    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the catalogue with Stripe's prices: prices it does not map, and its prices Stripe no longer has (changes nothing).")
        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            try options.withContext { context in
                let findings = try CatalogSync(context: context).compare()
                for finding in findings { print("\(finding.price)\t\(finding.problem)") }
                print(findings.isEmpty ? "the catalogue and Stripe agree" : "\(findings.count) differences")
            }
        }
    }

    struct Push: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the Stripe Product and Price for a catalogue product that has none, and record the price.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The catalogue product.") var product: String
        @Option(help: "The price in minor units (4900 for 49.00).") var amount: Int64
        @Option(help: "ISO currency code (usd, eur…).") var currency: String
        @Option(help: "For a subscription: day, week, month or year.") var interval: String?

        func run() throws {
            guard amount > 0, currency.count == 3 else { throw ValidationError("--amount must be positive and --currency a three-letter code") }
            if let interval, !["day", "week", "month", "year"].contains(interval) { throw ValidationError("--interval must be day, week, month or year") }
            try options.withContext { context in
                do {
                    print("\(product): \(try CatalogSync(context: context).push(product, amount: amount, currency: currency, interval: interval))")
                } catch let error as APIError {
                    throw ValidationError(error.message)
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a product, or replace the one with the same name.")
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The product's name in this catalogue (pro-license).") var product: String
        @Option(help: "license, credits, subscription or entitlement.") var kind: String
        @Option(help: "A human-readable name (shown in emails).") var name: String?
        @Option(help: "The Stripe price id (price_…).") var price: String?
        @Option(help: "License tier.") var tier: String?
        @Option(help: "Sites per license.") var activationLimit: Int?
        @Option(help: "Days a license is valid (omit for lifetime).") var durationDays: Int?
        @Option(help: "Credits per unit bought (or per paid period).") var credits: Int64?
        @Option(help: "Entitlement name the WordPress site acts on.") var entitlement: String?
        @Option(name: .customLong("edd-item-id"), help: "The numeric item_id plugins built on Easy Digital Downloads send.") var eddItemID: Int64?
        @Option(help: "The plugin's slug (its folder name), for update checks.") var slug: String?
        @Option(help: "The plugin's homepage, shown in WordPress's \"View details\".") var homepage: String?
        @Option(help: "The plugin's description (HTML), shown in \"View details\".") var description: String?
        @Option(name: .customLong("banner-url"), help: "A banner image address (772x250), shown in \"View details\".") var bannerURL: String?
        @Option(name: .customLong("icon-url"), help: "An icon image address (128x128), shown with updates.") var iconURL: String?

        func run() throws {
            guard let kind = Product.Kind(rawValue: kind) else {
                throw ValidationError("--kind must be one of \(Product.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let product = Product(
                product: product, name: name ?? product, kind: kind, stripePriceID: price, tier: tier,
                activationLimit: activationLimit ?? (kind == .license ? 1 : nil), durationDays: durationDays,
                credits: credits, entitlement: entitlement
            )
            .withPluginDetails(
                eddItemID: eddItemID, slug: slug, homepage: homepage, description: description,
                bannerURL: bannerURL, iconURL: iconURL)
            try CatalogCommand.save([product], options: options)
            print("saved \(product.product) (\(product.kind.rawValue))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the catalogue.")
        @OptionGroup var options: ConfigurationOptions

        func run() throws {
            let products = try CatalogCommand.withStore(options) { store in
                try store.withConnection { try ProductRepository($0, prefix: store.prefix).all() }
            }
            if products.isEmpty { print("the catalogue is empty (payments-fcgi catalog add …)") }
            for p in products {
                var facts = [p.kind.rawValue, p.stripePriceID ?? "no price"]
                if let tier = p.tier { facts.append("tier \(tier)") }
                if let limit = p.activationLimit { facts.append("\(limit) sites") }
                facts.append(p.durationDays.map { "\($0) days" } ?? (p.grantsLicense ? "lifetime" : ""))
                if let credits = p.credits { facts.append("\(credits) credits") }
                if let entitlement = p.entitlement { facts.append("entitlement \(entitlement)") }
                if let item = p.eddItemID { facts.append("EDD item \(item)") }
                print("\(p.product)\t\(p.name)\t" + facts.filter { !$0.isEmpty }.joined(separator: ", "))
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a product (licenses already issued are kept).")
        @OptionGroup var options: ConfigurationOptions
        @Argument var product: String

        func run() throws {
            let removed = try CatalogCommand.withStore(options) { store in
                try store.transaction { try ProductRepository($0, prefix: store.prefix).remove(product, actor: "operator:cli", now: Date()) }
            }
            guard removed else {
                StandardError.write("no product named \(product)\n")
                throw ExitCode(1)
            }
            print("removed \(product)")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or replace every product of an INI file in one transaction.",
            discussion: """
                One section per product: [pro-license] with kind, name, stripe_price_id, tier, \
                activation_limit, duration_days, credits, entitlement, edd_item_id, slug, homepage, \
                description, banner_url, icon_url.
                """)
        @OptionGroup var options: ConfigurationOptions
        @Argument(help: "The catalogue file.") var file: String

        func run() throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                StandardError.write("cannot read \(file)\n")
                throw ExitCode(1)
            }
            let products: [Product]
            switch CatalogFile.parse(text) {
            case .success(let parsed): products = parsed
            case .failure(let error):
                StandardError.write("\(file) is not a valid catalogue:\n" + error.problems.map { "  - \($0)" }.joined(separator: "\n") + "\n")
                throw ExitCode(65)
            }
            try CatalogCommand.save(products, options: options)
            print("imported \(products.count) products")
        }
    }

    static func save(_ products: [Product], options: ConfigurationOptions) throws {
        for product in products where !product.problems.isEmpty {
            throw ValidationError("\(product.product): " + product.problems.joined(separator: "; "))
        }
        try withStore(options) { store in
            try store.transaction { connection in
                let repository = ProductRepository(connection, prefix: store.prefix)
                for product in products { try repository.save(product, actor: "operator:cli", now: Date()) }
            }
        }
    }

    static func withStore<T>(_ options: ConfigurationOptions, _ body: (Store) throws -> T) throws -> T {
        try options.withContext { context in
            do {
                return try body(context.store)
            } catch let error as DatabaseError {
                StandardError.write("database \(context.store.options): \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
