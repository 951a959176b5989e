-- expect: vip_nft_refused\.lua:5: vip: kind = 'nftables' relays a closed backend's port unreachable as conntrack does: on_refused can only be 'icmp', not 'drop'
local s = scenario{ name = "x", duration = 1 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
s:vip{ kind = "nftables", backends = { r1 }, on_refused = "drop" }
