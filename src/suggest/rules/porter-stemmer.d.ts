// `natural` ships no declarations for its subpath modules; the package root must not be imported
// (it loads database drivers and prints to stdout, see PERF-NOTES).
declare module 'natural/lib/natural/stemmers/porter_stemmer.js' {
  const PorterStemmer: { stem(token: string): string };
  export default PorterStemmer;
}
