/// Every object of a Stripe list endpoint, page by page (`has_more`, `starting_after`).
enum StripeList {
    static func all(_ path: String, query: [(String, String)], stripe: StripeClient) throws -> [JSONObject] {
        var objects: [JSONObject] = []
        var after: String?
        repeat {
            var pageQuery = query + [("limit", "100")]
            if let after { pageQuery.append(("starting_after", after)) }
            let page = try stripe.get(path, query: pageQuery)
            let data = try page.array("data")
            objects += data
            after = try page.optionalBool("has_more") == true ? data.last?.optionalString("id") : nil
        } while after != nil
        return objects
    }
}
