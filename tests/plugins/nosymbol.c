/* Test plugin: a shared object without the omr_plugin symbol. */
int nosymbol_something(void);
int nosymbol_something(void)
{
	return 42;
}
