import ipaddr from 'ipaddr.js';

/** Small IPv4 helpers on top of ipaddr.js (which does the parsing). */

export function isIPv4(value: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(value);
}

export function isIPv4Cidr(value: string): boolean {
  const [addr, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined || prefix === undefined) return false;
  if (!/^\d{1,2}$/.test(prefix)) return false;
  const n = Number(prefix);
  return isIPv4(addr) && n >= 1 && n <= 32;
}

export function splitCidr(value: string): { address: string; prefix: number } {
  const [address = '', prefix = '32'] = value.split('/');
  return { address, prefix: Number(prefix) };
}

export function inSubnet(address: string, network: string, prefix: number): boolean {
  if (!isIPv4(address) || !isIPv4(network)) return false;
  return ipaddr.IPv4.parse(address).match(ipaddr.IPv4.parse(network), prefix);
}

/** 192.168.81.142/24 -> 192.168.81.0/24 */
export function networkOf(address: string, prefix: number): string {
  const net = ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`);
  return `${net.toString()}/${prefix}`;
}

/** 24 -> 255.255.255.0 (for ifcfg NETMASK=). */
export function netmaskOf(prefix: number): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
}

export function broadcastOf(address: string, prefix: number): string {
  return ipaddr.IPv4.broadcastAddressFromCIDR(`${address}/${prefix}`).toString();
}
