"""Fixture bodies F1-F24 of docs/protocol.md §10 (Java Artemis output), byte-exact.

FIXTURES["F5"][0] is the first JSON block of F5 (the request), [1] the second, and so on.
Each is listed with one line in docs/protocol.md §10; keep these bodies byte-identical."""

FIXTURES = {
    # F1 — POST /api/registry/register.json (request, one instance)
    'F1': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}]}',
    ],
    # F2 — register/heartbeat/unregister success response
    'F2': [
        r'{"failedInstances":null,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
    ],
    # F3 — register, node zone sha-z1, other-zone registry NOT allowed, second instance in sha-z2
    'F3': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.1.0.6:8080/health","instanceId":"10.1.0.6:8080","ip":"10.1.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.1.0.6:8080/demo","zoneId":"sha-z2"}]}',
        r'{"failedInstances":[{"errorCode":"no-permission","errorMessage":"sha/sha-z2/demo.service.v1/10.1.0.6:8080: zoneId is not the same as the registry node. zoneId: sha-z2, registry node.zoneId: sha-z1","instance":{"groupId":null,"healthCheckUrl":"http://10.1.0.6:8080/health","instanceId":"10.1.0.6:8080","ip":"10.1.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.1.0.6:8080/demo","zoneId":"sha-z2"}}],"responseStatus":{"errorCode":"partial_fail","message":"","status":"partial_fail"}}',
    ],
    # F4 — register with an instance lacking url
    'F4': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.7:8080/health","instanceId":"10.0.0.7:8080","ip":"10.0.0.7","machineName":"host-7","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":null,"zoneId":"sha-z1"}]}',
        r'{"failedInstances":[{"errorCode":"internal-service-error","errorMessage":"sha/sha-z1/demo.service.v1/10.0.0.7:8080: Exception: argument instance.url is null or whitespace","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.7:8080/health","instanceId":"10.0.0.7:8080","ip":"10.0.0.7","machineName":"host-7","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":null,"zoneId":"sha-z1"}}],"responseStatus":{"errorCode":"partial_fail","message":"","status":"partial_fail"}}',
    ],
    # F5 — POST /api/registry/heartbeat.json for an unknown / expired lease
    'F5': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}]}',
        r'{"failedInstances":[{"errorCode":"data-not-found","errorMessage":"sha/sha-z1/demo.service.v1/10.0.0.5:8080: Instance is not exising! Need re-register.","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}}],"responseStatus":{"errorCode":"partial_fail","message":"","status":"partial_fail"}}',
    ],
    # F6 — empty instance list (any of R1–R3, P1–P3)
    'F6': [
        r'{"instances":[]}',
        r'{"failedInstances":null,"responseStatus":{"errorCode":"bad-request","message":"request.instances is null or empty.","status":"fail"}}',
    ],
    # F7 — rate limited (register/heartbeat/unregister)
    'F7': [
        r'{"failedInstances":null,"responseStatus":{"errorCode":"rate-limited","message":"Request is rate limited.","status":"fail"}}',
    ],
    # F8 — node not ready for registry (status starting, flags unset)
    'F8': [
        r'{"failedInstances":null,"responseStatus":{"errorCode":"service-unavailable","message":"Serivce registry is not in up state. Current status: { node: sha/sha-z1/http://10.0.0.1:8080/artemis-service/, status: starting, canServiceRegistry: null, canServiceDiscovery: null }","status":"fail"}}',
    ],
    # F9 — POST /api/registry/unregister.json
    'F9': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}]}',
        r'{"failedInstances":null,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
    ],
    # F10 — POST /api/discovery/lookup.json (one known, one unknown service; no management data)
    'F10': [
        r'{"discoveryConfigs":[{"discoveryData":null,"regionId":null,"serviceId":"demo.service.v1","zoneId":null},{"discoveryData":null,"regionId":null,"serviceId":"unknown.service","zoneId":null}],"regionId":"sha","zoneId":"sha-z1"}',
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"services":[{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"}],"logicInstances":[],"metadata":null,"routeRules":[],"serviceId":"demo.service.v1"},{"instances":[],"logicInstances":[],"metadata":null,"routeRules":[],"serviceId":"unknown.service"}]}',
    ],
    # F11 — lookup from a region this node does not serve (regionId:"ntg"): still success, empty shells
    'F11': [
        r'{"discoveryConfigs":[{"discoveryData":null,"regionId":null,"serviceId":"demo.service.v1","zoneId":null}],"regionId":"ntg","zoneId":"ntg-z1"}',
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"services":[{"instances":null,"logicInstances":null,"metadata":null,"routeRules":null,"serviceId":"demo.service.v1"}]}',
    ],
    # F12 — GET /api/discovery/service.json?serviceId=unknown.service&regionId=sha&zoneId=sha-z1
    'F12': [
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"service":{"instances":null,"logicInstances":null,"metadata":null,"routeRules":null,"serviceId":"unknown.service"}}',
        r'{"discoveryConfig":{"discoveryData":null,"regionId":null,"serviceId":"unknown.service","zoneId":null},"regionId":"sha","zoneId":"sha-z1"}',
    ],
    # F13 — POST /api/discovery/services.json
    'F13': [
        r'{"regionId":"sha","zoneId":"sha-z1"}',
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"services":[{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"}],"logicInstances":[],"metadata":null,"routeRules":[],"serviceId":"demo.service.v1"}],"version":1700000030000}',
    ],
    # F14 — POST /api/discovery/services-delta.json
    'F14': [
        r'{"regionId":"sha","version":1700000030000,"zoneId":"sha-z1"}',
        r'{"delta":{"demo.service.v1":[{"changeTime":1700000060004,"changeType":"delete","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"}},{"changeTime":1700000060004,"changeType":"new","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.8:8080/health","instanceId":"10.0.0.8:8080","ip":"10.0.0.8","machineName":"host-8","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.8:8080/demo","zoneId":"sha-z1"}}]},"responseStatus":{"errorCode":"success","message":"","status":"success"},"version":1700000060000}',
        r'{"delta":null,"responseStatus":{"errorCode":"data-not-found","message":"Delta is not found.","status":"fail"},"version":0}',
    ],
    # F15 — POST /api/cluster/up-discovery-nodes.json (same shapes for up-registry-nodes.json)
    'F15': [
        r'{"regionId":"sha","zoneId":"sha-z1"}',
        r'{"nodes":[{"url":"http://10.0.0.1:8080/artemis-service/","zone":{"metadata":null,"regionId":"sha","zoneId":"sha-z1"}},{"url":"http://10.0.0.2:8080/artemis-service/","zone":{"metadata":null,"regionId":"sha","zoneId":"sha-z1"}}],"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
        r'{"nodes":null,"responseStatus":{"errorCode":"data-not-found","message":"No available service nodes.","status":"fail"}}',
    ],
    # F16 — POST /api/status/node.json (peer probe; request body {})
    'F16': [
        r'{"nodeStatus":{"allowDiscoveryFromOtherZone":true,"allowRegistryFromOtherZone":true,"canServiceDiscovery":true,"canServiceRegistry":true,"node":{"url":"http://10.0.0.1:8080/artemis-service/","zone":{"metadata":null,"regionId":"sha","zoneId":"sha-z1"}},"status":"up"},"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
    ],
    # F17 — WebSocket /ws/registry/heartbeat
    'F17': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}]}',
        r'{"failedInstances":null,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
        r'{"failedInstances":[{"errorCode":"data-not-found","errorMessage":"sha/sha-z1/demo.service.v1/10.0.0.5:8080: Instance is not exising! Need re-register.","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}}],"responseStatus":{"errorCode":"partial_fail","message":"","status":"partial_fail"}}',
    ],
    # F18 — WebSocket /ws/discovery/instance-change
    'F18': [
        r'{"discoveryData":null,"regionId":null,"serviceId":"demo.service.v1","zoneId":null}',
        r'{"changeTime":1700000061000,"changeType":"new","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.8:8080/health","instanceId":"10.0.0.8:8080","ip":"10.0.0.8","machineName":"host-8","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.8:8080/demo","zoneId":"sha-z1"}}',
        r'{"changeTime":1700000062000,"changeType":"delete","instance":{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"}}',
        r'{"changeTime":1700000065123,"changeType":"reload","instance":{"groupId":null,"healthCheckUrl":null,"instanceId":"reload","ip":"0.0.0.0","machineName":null,"metadata":null,"port":0,"protocol":null,"regionId":null,"serviceId":"demo.service.v1","status":null,"url":"http://serviceId/reload","zoneId":null}}',
    ],
    # F19 — POST /api/replication/registry/services.json (bootstrap pull)
    'F19': [
        r'{"regionId":"sha","zoneId":"sha-z1"}',
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"services":[{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"}],"logicInstances":null,"metadata":null,"routeRules":null,"serviceId":"demo.service.v1"}]}',
    ],
    # F20 — POST /api/replication/registry/heartbeat.json (batched replication)
    'F20': [
        r'{"instances":[{"groupId":null,"healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":{"env":"prod"},"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.0.0.6:8080/health","instanceId":"10.0.0.6:8080","ip":"10.0.0.6","machineName":"host-6","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.6:8080/demo","zoneId":"sha-z1"},{"groupId":null,"healthCheckUrl":"http://10.0.0.8:8080/health","instanceId":"10.0.0.8:8080","ip":"10.0.0.8","machineName":"host-8","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.8:8080/demo","zoneId":"sha-z1"}]}',
        r'{"failedInstances":null,"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
    ],
    # F21 — POST /api/management/operate-instance.json (pull-out, then pull-in)
    'F21': [
        r'{"instanceKey":{"instanceId":"10.0.0.5:8080","regionId":"sha","serviceId":"demo.service.v1"},"operation":"pullout","operationComplete":false,"operatorId":"alice","token":"t-123"}',
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
        r'{"instanceKey":{"instanceId":"10.0.0.5:8080","regionId":"sha","serviceId":"demo.service.v1"},"operation":"pullout","operationComplete":true,"operatorId":"alice","token":"t-123"}',
        r'{"instanceKey":{"instanceId":"10.0.0.5:8080","regionId":"sha","serviceId":"demo.service.v1"}}',
        r'{"operations":{"instanceKey":{"instanceId":"10.0.0.5:8080","regionId":"sha","serviceId":"demo.service.v1"},"operations":["pullout"]},"responseStatus":{"errorCode":"success","message":"","status":"success"}}',
        r'{"responseStatus":{"errorCode":"bad-request","message":"operatorId is null or empty","status":"fail"}}',
    ],
    # F22 — lookup.json response with management route rules (rule bluegreen active, both groups active and released)
    'F22': [
        r'{"responseStatus":{"errorCode":"success","message":"","status":"success"},"services":[{"instances":[{"groupId":"blue","healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":"green","healthCheckUrl":"http://10.0.0.9:8080/health","instanceId":"10.0.0.9:8080","ip":"10.0.0.9","machineName":"host-9","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.9:8080/demo","zoneId":"sha-z1"}],"logicInstances":[],"metadata":null,"routeRules":[{"groups":[{"groupKey":"demo.service.v1/sha/sha-z1/blue","instanceIds":[],"instances":null,"metadata":{"owner":"team-a"},"weight":80},{"groupKey":"demo.service.v1/sha/sha-z1/green","instanceIds":["10.0.0.9:8080"],"instances":null,"metadata":null,"weight":20}],"routeId":"bluegreen","strategy":"weighted-round-robin"}],"serviceId":"demo.service.v1"}]}',
    ],
    # F23 — client-side derived routeRules for F22 (what DiscoveryClient.getService() returns; not on the wire)
    'F23': [
        r'[{"groups":[{"groupKey":"demo.service.v1/sha/sha-z1/blue","instanceIds":null,"instances":[{"groupId":"blue","healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"}],"metadata":{"owner":"team-a"},"weight":80},{"groupKey":"demo.service.v1/sha/sha-z1/green","instanceIds":null,"instances":[{"groupId":"green","healthCheckUrl":"http://10.0.0.9:8080/health","instanceId":"10.0.0.9:8080","ip":"10.0.0.9","machineName":"host-9","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.9:8080/demo","zoneId":"sha-z1"}],"metadata":null,"weight":20}],"routeId":"bluegreen","strategy":"weighted-round-robin"},{"groups":[{"groupKey":"default-group-key","instanceIds":null,"instances":[{"groupId":"blue","healthCheckUrl":"http://10.0.0.5:8080/health","instanceId":"10.0.0.5:8080","ip":"10.0.0.5","machineName":"host-5","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.5:8080/demo","zoneId":"sha-z1"},{"groupId":"green","healthCheckUrl":"http://10.0.0.9:8080/health","instanceId":"10.0.0.9:8080","ip":"10.0.0.9","machineName":"host-9","metadata":null,"port":8080,"protocol":"http","regionId":"sha","serviceId":"demo.service.v1","status":"up","url":"http://10.0.0.9:8080/demo","zoneId":"sha-z1"}],"metadata":null,"weight":5}],"routeId":"default-route-rule","strategy":"weighted-round-robin"}]',
    ],
    # F24 — failures of discovery endpoints
    'F24': [
        r'{"responseStatus":{"errorCode":"service-unavailable","message":"Serivce discovery is not in up state. Current status: { node: sha/sha-z1/http://10.0.0.1:8080/artemis-service/, status: starting, canServiceRegistry: true, canServiceDiscovery: null }","status":"fail"},"service":null}',
        r'{"responseStatus":{"errorCode":"no-permission","message":"zoneId is not the same as the registry node. zoneId: sha-z2, registry node.zoneId: sha-z1","status":"fail"},"service":null}',
        r'{"responseStatus":{"errorCode":"service-unavailable","message":"Serivce discovery is not in up state. Current status: { node: sha/sha-z1/http://10.0.0.1:8080/artemis-service/, status: down, canServiceRegistry: true, canServiceDiscovery: true }","status":"fail"},"services":null,"version":0}',
    ],
}
