"""The slice of Xledger's GraphQL schema the sandbox serves.

Type and field names follow Xledger's public API documentation where it names them; the
input type names (`AddGLImportItemsInput`, `GLImportItemNodeInput`, `CodeRef`), the filter
type `GLImportItemFilter` with `extIdentifier_in`, and plain `String` for dates and
amounts could not be verified against a real tenant. `PageInfo` has no `endCursor` (see
`xledger_lookup`).
"""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

SDL = """
type Query {
  glImportItems(first: Int, after: String, filter: GLImportItemFilter): GLImportItemConnection!
}

type Mutation {
  addGLImportItems(inputs: [AddGLImportItemsInput!]!): AddGLImportItemsConnection!
}

input GLImportItemFilter { extIdentifier_in: [String!], extIdentifier_startsWith: String }
input CodeRef { code: String! }

input GLImportItemNodeInput {
  extIdentifier: String
  postedDate: String!
  invoiceDate: String
  account: CodeRef!
  amount: String!
  currency: CodeRef
  text: String
  subledger: CodeRef
  transactionSource: CodeRef
}

input AddGLImportItemsInput { clientId: String!, node: GLImportItemNodeInput! }

type Ref { code: String }

type GLImportItem {
  dbId: Int!
  extIdentifier: String
  postedDate: String
  invoiceDate: String
  account: Ref
  amount: String
  currency: Ref
  text: String
  subledger: Ref
  transactionSource: Ref
}

# No endCursor: unverified in Xledger (its samples select hasNextPage and the edges' cursors only).
type PageInfo { hasNextPage: Boolean!, hasPreviousPage: Boolean! }
type GLImportItemEdge { cursor: String!, node: GLImportItem! }
type GLImportItemConnection { edges: [GLImportItemEdge!]!, pageInfo: PageInfo! }
type AddGLImportItemsEdge { clientId: String!, node: GLImportItem! }
type AddGLImportItemsConnection { edges: [AddGLImportItemsEdge!]! }
"""


def schema() -> GraphQLSchema:
    return build_schema(SDL)
