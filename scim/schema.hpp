#pragma once
// Schemas and resource types (RFC 7643 §2, §6, §7): attribute characteristics as data. Validation,
// projection and discovery all read them from here; nothing else hard-codes an attribute's rules.

#include "scim/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scimbridge::scim {

enum class AttrType { kString, kBoolean, kDecimal, kInteger, kDateTime, kBinary, kReference, kComplex };
enum class Mutability { kReadOnly, kReadWrite, kImmutable, kWriteOnly };
enum class Returned { kAlways, kNever, kDefault, kRequest };
enum class Uniqueness { kNone, kServer, kGlobal };

std::string_view to_string(AttrType t);

struct AttributeDef {
    std::string name;
    AttrType type = AttrType::kString;
    bool multi_valued = false;
    std::string description;
    bool required = false;
    bool case_exact = false;
    Mutability mutability = Mutability::kReadWrite;
    Returned returned = Returned::kDefault;
    Uniqueness uniqueness = Uniqueness::kNone;
    std::vector<std::string> canonical_values;
    std::vector<std::string> reference_types;
    std::vector<AttributeDef> sub_attributes;

    // Case-insensitive lookup of a sub-attribute (RFC 7643 §2.1).
    const AttributeDef* sub(std::string_view name) const;
};

struct Schema {
    std::string id;  // URN
    std::string name;
    std::string description;
    std::vector<AttributeDef> attributes;

    const AttributeDef* attribute(std::string_view name) const;
};

struct SchemaExtension {
    std::string schema;  // URN
    bool required = false;
};

struct ResourceType {
    std::string id;        // "User"
    std::string name;      // "User"
    std::string endpoint;  // "/Users"
    std::string description;
    std::string schema;    // core schema URN
    std::vector<SchemaExtension> extensions;
};

inline constexpr std::string_view kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr std::string_view kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr std::string_view kEnterpriseUserSchema =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

bool iequals(std::string_view a, std::string_view b);

// The member of `o` whose key equals `key` case-insensitively (RFC 7643 §2.1), or null.
const boost::json::value* find_ci(const boost::json::object& o, std::string_view key);

// Parses one schema in the RFC 7643 §7 representation; 400 invalidValue with the attribute path
// on anything malformed (this is how custom extension schemas are loaded).
Result<Schema> parse_schema(const boost::json::object& json);
boost::json::object to_json(const Schema& schema);
boost::json::object to_json(const AttributeDef& attribute);
boost::json::object to_json(const ResourceType& type);

// The schemas and resource types one tenant sees: the core ones plus its custom extensions.
class SchemaRegistry {
public:
    // The RFC 7643 core User, enterprise User extension and core Group, with the User and Group
    // resource types.
    static const SchemaRegistry& core();

    // A registry with `extensions` added to User (or Group, per `resource_type`). Each extension
    // is validated: a URN id, no clash with an existing schema.
    Result<SchemaRegistry> with_extension(const Schema& extension,
                                          const std::string& resource_type) const;

    const Schema* schema(std::string_view urn) const;  // case-insensitive
    const ResourceType* resource_type(std::string_view id) const;
    const std::vector<Schema>& schemas() const { return schemas_; }
    const std::vector<ResourceType>& resource_types() const { return resource_types_; }

private:
    std::vector<Schema> schemas_;
    std::vector<ResourceType> resource_types_;
};

// A custom extension schema a tenant added, as stored.
struct TenantSchema {
    std::string resource_type;      // "User" or "Group"
    boost::json::object definition; // RFC 7643 §7 representation
};

// The core registry plus the tenant's extensions, in the order given. 400 invalidValue when a
// definition does not parse, 409 uniqueness when its id is taken.
Result<SchemaRegistry> build_registry(const std::vector<TenantSchema>& extensions);

// Where tenants' extension schemas are kept; db/ implements it.
class SchemaStore {
public:
    virtual ~SchemaStore() = default;
    virtual std::vector<TenantSchema> list_schemas(const std::string& tenant_id) = 0;
    // 409 uniqueness when the tenant already has a schema with this id.
    virtual Result<std::string> add_schema(const std::string& tenant_id, const TenantSchema& schema) = 0;
};

}  // namespace scimbridge::scim
