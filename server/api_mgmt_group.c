/*
 * Groups, route rules and their links, tags, members, logical instances, group operations and
 * canary (protocol.md §7.6, §7.7): one line per table-driven path, and the few paths with a
 * shape of their own below.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_mgmt.h"
#include "codec.h"

#define ROWS(s, T)  (&(s)->tab[SRV_MG_##T])
#define CANARY_RULE "canary-route-rule"

/* ---- list upserts ---------------------------------------------------------------------------- */

#define UPSERT_PATH(fn, list, entity, log, set, required, msg)                                     \
    void fn(srv_req_t *req)                                                                        \
    {                                                                                              \
        static const srv_mg_batch_t b = {list, &entity, log, set, required, msg};                  \
        srv_mg_upsert_list(req, &b);                                                               \
    }

/* insert-* and update-* are one code path in Java (§7.6): an upsert by the natural key. */
UPSERT_PATH(srv_api_mg_insert_route_rules, "routeRules", srv_mg_rule_entity, SRV_MG_ROUTE_RULE_LOG,
            "description,status,strategy", "serviceId,name", "insert route-rules failed.")
UPSERT_PATH(srv_api_mg_update_route_rules, "routeRules", srv_mg_rule_entity, SRV_MG_ROUTE_RULE_LOG,
            "description,status,strategy", "serviceId,name", "update route-rules failed.")
UPSERT_PATH(srv_api_mg_insert_groups, "groups", srv_mg_group_entity, SRV_MG_GROUP_LOG,
            "app_id,description,status", "serviceId,regionId,zoneId,name", "insert groups failed.")
UPSERT_PATH(srv_api_mg_update_groups, "groups", srv_mg_group_entity, SRV_MG_GROUP_LOG,
            "app_id,description,status", "serviceId,regionId,zoneId,name", "update groups failed.")
UPSERT_PATH(srv_api_mg_insert_group_instances, "groupInstances", srv_mg_group_instance_entity,
            SRV_MG_GROUP_INSTANCE_LOG, "", "groupId,instanceId", "insert group instances failed.")
UPSERT_PATH(srv_api_mg_insert_service_instances, "serviceInstances", srv_mg_service_instance_entity,
            SRV_MG_SERVICE_INSTANCE_LOG,
            "ip,machine_name,metadata,port,protocol,region_id,zone_id,group_id,health_check_url,"
            "url,description",
            "serviceId,instanceId", "insert service instances failed.")

/* ---- deletes by id --------------------------------------------------------------------------- */

void srv_api_mg_delete_route_rules(srv_req_t *req)
{
    srv_mg_delete_ids(req, "routeRuleIds", SRV_MG_ROUTE_RULE, SRV_MG_ROUTE_RULE_LOG,
                      "route_rule_id", 1, "delete route-rules failed.");
}

void srv_api_mg_delete_groups(srv_req_t *req)
{
    srv_mg_delete_ids(req, "groupIds", SRV_MG_GROUP, SRV_MG_GROUP_LOG, "group_id", 1,
                      "delete groups failed.");
}

void srv_api_mg_delete_route_rule_groups(srv_req_t *req)
{
    srv_mg_delete_ids(req, "routeRuleGroupIds", SRV_MG_ROUTE_RULE_GROUP,
                      SRV_MG_ROUTE_RULE_GROUP_LOG, NULL, 0, "delete route-rule-groups failed.");
}

void srv_api_mg_delete_group_instances(srv_req_t *req)
{
    srv_mg_delete_ids(req, "groupInstanceIds", SRV_MG_GROUP_INSTANCE, SRV_MG_GROUP_INSTANCE_LOG,
                      NULL, 0, "delete group instances failed.");
}

void srv_api_mg_delete_service_instances(srv_req_t *req)
{
    srv_mg_delete_ids(req, "serviceInstanceIds", SRV_MG_SERVICE_INSTANCE,
                      SRV_MG_SERVICE_INSTANCE_LOG, NULL, 0, "delete service instances failed.");
}

/* ---- filtered reads ----------------------------------------------------------------------------
 */

#define GET_PATH(fn, field, entity, ...)                                                           \
    void fn(srv_req_t *req)                                                                        \
    {                                                                                              \
        static const srv_mg_filter_t f[] = {__VA_ARGS__};                                          \
        srv_mg_get_filtered(req, field, &entity, f, sizeof(f) / sizeof(f[0]));                     \
    }

GET_PATH(srv_api_mg_get_route_rules, "routeRules", srv_mg_rule_entity,
         {"name", SRV_MGC_ROUTE_RULE_NAME}, {"routeRuleId", SRV_MGC_ID},
         {"serviceId", SRV_MGC_ROUTE_RULE_SERVICE_ID}, {"status", SRV_MGC_ROUTE_RULE_STATUS})
GET_PATH(srv_api_mg_get_all_route_rules, "routeRules", srv_mg_rule_entity, {NULL, -1})
GET_PATH(srv_api_mg_get_route_rule_groups, "routeRuleGroups", srv_mg_rrg_entity,
         {"groupId", SRV_MGC_ROUTE_RULE_GROUP_GROUP_ID}, {"routeRuleGroupId", SRV_MGC_ID},
         {"routeRuleId", SRV_MGC_ROUTE_RULE_GROUP_ROUTE_RULE_ID})
GET_PATH(srv_api_mg_get_all_route_rule_groups, "routeRuleGroups", srv_mg_rrg_entity, {NULL, -1})
GET_PATH(srv_api_mg_get_groups, "groups", srv_mg_group_entity, {"appId", SRV_MGC_GROUP_APP_ID},
         {"groupId", SRV_MGC_ID}, {"name", SRV_MGC_GROUP_NAME},
         {"regionId", SRV_MGC_GROUP_REGION_ID}, {"serviceId", SRV_MGC_GROUP_SERVICE_ID},
         {"status", SRV_MGC_GROUP_STATUS}, {"zoneId", SRV_MGC_GROUP_ZONE_ID})
GET_PATH(srv_api_mg_get_all_groups, "groups", srv_mg_group_entity, {NULL, -1})
GET_PATH(srv_api_mg_get_group_instances, "groupInstances", srv_mg_group_instance_entity,
         {"groupId", SRV_MGC_GROUP_INSTANCE_GROUP_ID},
         {"instanceId", SRV_MGC_GROUP_INSTANCE_INSTANCE_ID})
GET_PATH(srv_api_mg_get_service_instances, "serviceInstances", srv_mg_service_instance_entity,
         {"instanceId", SRV_MGC_SERVICE_INSTANCE_INSTANCE_ID},
         {"serviceId", SRV_MGC_SERVICE_INSTANCE_SERVICE_ID})
