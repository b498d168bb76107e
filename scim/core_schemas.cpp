// RFC 7643 §8.7.1: the core User and Group schemas and the enterprise User extension, in the
// schema representation of RFC 7643 §7. Parsed once at start-up by schema.cpp; also what
// GET /Schemas returns (with meta added).
#include "scim/core_schemas.hpp"

namespace scimbridge::scim {

// Every attribute and sub-attribute spells out all nine characteristics. Where §8.7.1 leaves one
// out, the §2.2 default is written (caseExact false, uniqueness none, mutability readWrite,
// returned default); "canonicalValues" is omitted where the RFC lists none (its empty arrays on
// roles.type and x509Certificates.type). Descriptions are reworded lightly; the RFC's line-break
// typos ("anorganization", "representingthe") are fixed.
//
// Where the RFC disagrees with itself, and what this file does:
//  - Group displayName: §4.2 says REQUIRED and so does its §8.7.1 description, but §8.7.1 has
//    "required": false. Written as required: true.
//  - Group members: §8.7.1 has only value, $ref and type, but the §8.4 example and many IdPs send
//    "display". Added: members.display (string, immutable, returned default), not in §8.7.1.
//  - addresses: §8.7.1 has no "primary" sub-attribute, but §2.4 defines "primary" for
//    multi-valued attributes and the §8.2 example sends addresses[].primary. Added (boolean).
//  - display sub-attributes of emails, phoneNumbers, ims, photos, entitlements, roles and
//    x509Certificates: described "READ-ONLY." but §8.7.1 makes them readWrite. Kept readWrite.
//  - x509Certificates.value is binary, and §2.3.6 says binary is case exact, but §8.7.1 has
//    "caseExact": false (erratum 6000, reported). Written caseExact: true, as §2.3.6 requires.
//  - manager.value and manager.$ref: the §8.7.1 descriptions say "REQUIRED." but the schema has
//    "required": false, and §4.3 says RECOMMENDED. Kept required: false, description RECOMMENDED.
//  - groups.$ref: the description says a 'Group' resource but referenceTypes is
//    ["User", "Group"] in §8.7.1. Kept as in §8.7.1.
//  - emails.value: §8.7.1 repeats the whole emails description (including canonical type values)
//    as the description of value. Written as a description of one address.
//  - preferredLanguage: the example 'en_US' is not a valid language tag (erratum 6007). Written
//    'en-US'.
std::string_view core_schemas_json() {
    return R"json([
  {
    "id": "urn:ietf:params:scim:schemas:core:2.0:User",
    "name": "User",
    "description": "User Account",
    "attributes": [
      { "name": "userName", "type": "string", "multiValued": false, "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "server",
        "description": "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED."
      },
      { "name": "name", "type": "complex", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The components of the user's real name. Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both. If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.",
        "subAttributes": [
          { "name": "formatted", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."
          },
          { "name": "familyName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III')."
          },
          { "name": "givenName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III')."
          },
          { "name": "middleName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III')."
          },
          { "name": "honorificPrefix", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III')."
          },
          { "name": "honorificSuffix", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III')."
          }
        ]
      },
      { "name": "displayName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User being described, if known."
      },
      { "name": "nickName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'. This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."
      },
      { "name": "profileUrl", "type": "reference", "multiValued": false, "required": false, "caseExact": false, "referenceTypes": ["external"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A fully qualified URL pointing to a page representing the User's online profile."
      },
      { "name": "title", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The user's title, such as 'Vice President'."
      },
      { "name": "userType", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Used to identify the relationship between the organization and the user. Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."
      },
      { "name": "preferredLanguage", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Indicates the User's preferred written or spoken language. Generally used for selecting a localized user interface; e.g., 'en-US' specifies the language English and country US."
      },
      { "name": "locale", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."
      },
      { "name": "timezone", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."
      },
      { "name": "active", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A Boolean value indicating the User's administrative status."
      },
      { "name": "password", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "writeOnly", "returned": "never", "uniqueness": "none",
        "description": "The User's cleartext password. This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password."
      },
      { "name": "emails", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "Email address for the User. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["work", "home", "other"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, e.g., 'work' or 'home'."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "phoneNumbers", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "Phone number of the User."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["work", "home", "mobile", "fax", "pager", "other"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred phone number or primary phone number. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "ims", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Instant messaging addresses for the User.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "Instant messaging address for the User."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred messenger or primary messenger. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "photos", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "URLs of photos of the User.",
        "subAttributes": [
          { "name": "value", "type": "reference", "multiValued": false, "required": false, "caseExact": false, "referenceTypes": ["external"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "URL of a photo of the User."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["photo", "thumbnail"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred photo or thumbnail. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "addresses", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'. This attribute is a complex type with the following sub-attributes.",
        "subAttributes": [
          { "name": "formatted", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain newlines."
          },
          { "name": "streetAddress", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information. This attribute MAY contain newlines."
          },
          { "name": "locality", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The city or locality component."
          },
          { "name": "region", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The state or region component."
          },
          { "name": "postalCode", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The zip code or postal code component."
          },
          { "name": "country", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The country name component."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["work", "home", "other"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, e.g., 'work' or 'home'."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "groups", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none",
        "description": "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none",
            "description": "The identifier of the User's group."
          },
          { "name": "$ref", "type": "reference", "multiValued": false, "required": false, "caseExact": false, "referenceTypes": ["User", "Group"], "mutability": "readOnly", "returned": "default", "uniqueness": "none",
            "description": "The URI of the corresponding 'Group' resource to which the user belongs."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["direct", "indirect"], "mutability": "readOnly", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function, e.g., 'direct' or 'indirect'."
          }
        ]
      },
      { "name": "entitlements", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A list of entitlements for the User that represent a thing the User has.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The value of an entitlement."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "roles", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The value of a role."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      },
      { "name": "x509Certificates", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A list of certificates issued to the User.",
        "subAttributes": [
          { "name": "value", "type": "binary", "multiValued": false, "required": false, "caseExact": true, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The value of an X.509 certificate."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name, primarily used for display purposes. READ-ONLY."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the attribute's function."
          },
          { "name": "primary", "type": "boolean", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."
          }
        ]
      }
    ]
  },
  {
    "id": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "name": "EnterpriseUser",
    "description": "Enterprise User",
    "attributes": [
      { "name": "employeeNumber", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."
      },
      { "name": "costCenter", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Identifies the name of a cost center."
      },
      { "name": "organization", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Identifies the name of an organization."
      },
      { "name": "division", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Identifies the name of a division."
      },
      { "name": "department", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "Identifies the name of a department."
      },
      { "name": "manager", "type": "complex", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The id of the SCIM resource representing the User's manager. RECOMMENDED."
          },
          { "name": "$ref", "type": "reference", "multiValued": false, "required": false, "caseExact": false, "referenceTypes": ["User"], "mutability": "readWrite", "returned": "default", "uniqueness": "none",
            "description": "The URI of the SCIM resource representing the User's manager. RECOMMENDED."
          },
          { "name": "displayName", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none",
            "description": "The displayName of the User's manager. OPTIONAL and READ-ONLY."
          }
        ]
      }
    ]
  },
  {
    "id": "urn:ietf:params:scim:schemas:core:2.0:Group",
    "name": "Group",
    "description": "Group",
    "attributes": [
      { "name": "displayName", "type": "string", "multiValued": false, "required": true, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A human-readable name for the Group. REQUIRED."
      },
      { "name": "members", "type": "complex", "multiValued": true, "required": false, "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
        "description": "A list of members of the Group.",
        "subAttributes": [
          { "name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "immutable", "returned": "default", "uniqueness": "none",
            "description": "Identifier of the member of this Group."
          },
          { "name": "$ref", "type": "reference", "multiValued": false, "required": false, "caseExact": false, "referenceTypes": ["User", "Group"], "mutability": "immutable", "returned": "default", "uniqueness": "none",
            "description": "The URI corresponding to a SCIM resource that is a member of this Group."
          },
          { "name": "type", "type": "string", "multiValued": false, "required": false, "caseExact": false, "canonicalValues": ["User", "Group"], "mutability": "immutable", "returned": "default", "uniqueness": "none",
            "description": "A label indicating the type of resource, e.g., 'User' or 'Group'."
          },
          { "name": "display", "type": "string", "multiValued": false, "required": false, "caseExact": false, "mutability": "immutable", "returned": "default", "uniqueness": "none",
            "description": "A human-readable name for the member, primarily used for display purposes."
          }
        ]
      }
    ]
  }
])json";
}

}  // namespace scimbridge::scim
