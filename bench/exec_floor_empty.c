/* The empty program, linked fully static against glibc as sriov-netattach
 * is: what exec, glibc's start-up and exit cost before any code of ours
 * runs. netattach_bench times it beside the shim. */
int main(void) { return 0; }
